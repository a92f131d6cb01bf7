"""Measuring one fleet of processes under the closed-loop driver: the drive itself and the CPU it cost."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from sagalab.bench.cpu import CpuSnapshot, cpu_used, find_broker_pid
from sagalab.bench.driver import Drive, SettledRows, drive
from sagalab.bench.result import RunFigures, Verdict
from sagalab.bench.stats import percentiles
from sagalab.bench.tenths import growth, rss_of
from scenarios.processes import Fleet


async def measure(
    fleet: Fleet,
    order_ids: Sequence[str],
    place: Callable[[str], Awaitable[None]],
    feed: SettledRows,
    concurrency: int,
    deadline_s: float,
    on_settled: Callable[[int], None],
) -> tuple[Drive, dict[str, float | None]]:
    """Drive the orders through a ready fleet; CPU is read from /proc just before and after the drive, so
    start-up and shutdown are not counted, and before any process is stopped."""
    pids: dict[str, int | None] = {p.name: p.pid for p in fleet.processes}
    pids |= {"broker": find_broker_pid(), "driver": os.getpid()}
    system = {p.name: p.pid for p in fleet.processes}
    rss_start = rss_of(system)
    before = CpuSnapshot.take(pids)
    try:
        result = await drive(order_ids, place, feed, concurrency, deadline_s, on_settled, check=lambda: _alive(fleet))
    finally:
        feed.close()
    used = cpu_used(before, CpuSnapshot.take(pids))
    result.rss_start, result.rss_end = rss_start, rss_of(system)
    return result, used


class ProcessDied(Exception):
    """A process of the measured system exited during the drive; the message carries the end of its log."""


def _alive(fleet: Fleet) -> None:
    for p in fleet.processes:
        if not p.alive():
            raise ProcessDied(f"{p.name} exited during the benchmark:\n{p.log_tail()}")


def figures(
    kind: Literal["raw", "saga", "peer"], mode: str, hops: int, concurrency: int, instances: int, run: Drive, cpu: dict[str, float | None],
    verdict: Verdict, messages: dict[str, int], run_dir: str,
) -> RunFigures:  # fmt: skip
    """One run's figures from what the driver saw and what was counted afterwards."""
    span = run.span
    total = sum(messages.values())
    return RunFigures(
        kind=kind, mode=mode, hops=hops, orders=run.total, settled=len(run.settled_at), concurrency=concurrency,
        instances=instances, throughput_per_s=round(run.throughput, 1) if run.throughput else None,
        latency_ms=percentiles(run.latencies_s), wall_s=round(span[1] - span[0], 3) if span else None,
        messages_per_order=round(total / run.total, 2) if run.total and total else None,
        messages_by_type=messages, cpu_s=cpu, verdict=verdict, run_dir=run_dir,
        growth=growth(span[0] if span else None, run.settled_at.values(), run.rss_start, run.rss_end),
    )  # fmt: skip
