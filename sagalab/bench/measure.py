"""Measuring one fleet of processes under the closed-loop driver: the drive itself and the CPU it cost."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from sagalab.bench.cpu import CpuSnapshot, cpu_used, find_broker_pid
from sagalab.bench.driver import Drive, SettledRows, drive
from sagalab.bench.result import RunFigures, Verdict
from sagalab.bench.stats import percentiles
from sagalab.bench.tenths import TENTHS, growth, rss_of
from scenarios.processes import Fleet


async def measure(
    fleet: Fleet,
    order_ids: Sequence[str],
    place: Callable[[str], Awaitable[None]],
    feed: SettledRows,
    concurrency: int,
    deadline_s: float,
    on_settled: Callable[[int], None],
    groups: dict[str, Callable[[], float | None]] | None = None,
    amqp_url: str | None = None,
) -> tuple[Drive, dict[str, float | None]]:
    """Drive the orders through a ready fleet; CPU is read from /proc just before and after the drive, so
    start-up and shutdown are not counted, and before any process is stopped. ``groups`` are read the same way
    (the PostgreSQL server's processes, when the services keep their databases there). The broker is the node
that serves ``amqp_url``."""
    pids: dict[str, int | None] = {p.name: p.pid for p in fleet.processes}
    pids |= {"broker": find_broker_pid(amqp_url), "driver": os.getpid()}
    system = {p.name: p.pid for p in fleet.processes}
    rss_start = rss_of(system)
    before = CpuSnapshot.take(pids, groups)
    tenths = CpuTenths(system, len(order_ids), on_settled)
    try:
        result = await drive(order_ids, place, feed, concurrency, deadline_s, tenths.settled,
                             check=lambda: _alive(fleet))  # fmt: skip
    finally:
        feed.close()
    used = cpu_used(before, CpuSnapshot.take(pids, groups))
    result.rss_start, result.rss_end = rss_start, rss_of(system)
    result.cpu_tenths_ms = tenths.per_saga()
    return result, used


class CpuTenths:
    """The system's CPU per saga in each tenth of the drive: its processes' CPU read from /proc each time the
    settled count passes a tenth of the orders. Unlike a tenth's throughput, this holds on a shared machine:
    other work slows a run down, it does not make a saga cost more CPU, so a rising figure means growing cost."""

    def __init__(self, pids: dict[str, int | None], total: int, on_settled: Callable[[int], None]) -> None:
        self.pids = pids
        self.total = total
        self.on_settled = on_settled
        self.count = 0
        self.marks: list[tuple[int, float]] = [(0, self._cpu())]

    def _cpu(self) -> float:
        return sum(v or 0.0 for v in CpuSnapshot.take(self.pids).processes.values())

    def settled(self, n: int) -> None:
        self.on_settled(n)
        self.count += n
        cpu = None
        while self.total >= TENTHS and len(self.marks) <= TENTHS and self.count >= self._mark(len(self.marks)):
            cpu = self._cpu() if cpu is None else cpu  # a poll that passes two marks: the second tenth reads None
            self.marks.append((self.count, cpu))

    def _mark(self, i: int) -> int:
        return round(self.total * i / TENTHS)

    def per_saga(self) -> list[float | None]:
        """Milliseconds of CPU per saga in each tenth (as many tenths as the drive reached)."""
        pairs = zip(self.marks, self.marks[1:], strict=False)
        return [round(1000 * (c1 - c0) / (n1 - n0), 3) if n1 > n0 else None for (n0, c0), (n1, c1) in pairs]


def ready_within_s(fleet: Fleet) -> float:
    """How long a fleet may take to start: every process imports and connects at once, so K replicas of every
    service on two busy cores take longer than one of each (the runner's 60 s is for one of each)."""
    return 60.0 + 10.0 * max(0, len(fleet.processes) - 4)


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
    settled = len(run.settled_at)
    return RunFigures(
        kind=kind, mode=mode, hops=hops, orders=run.total, settled=len(run.settled_at), concurrency=concurrency,
        instances=instances, throughput_per_s=round(run.throughput, 1) if run.throughput else None,
        latency_ms=percentiles(run.latencies_s), wall_s=round(span[1] - span[0], 3) if span else None,
        messages_per_order=round(total / run.total, 2) if run.total and total else None,
        messages_by_type=messages, cpu_s=cpu, cpu_ms_per_saga=per_saga(cpu, settled), verdict=verdict,
        run_dir=run_dir,
        growth=growth(span[0] if span else None, run.settled_at.values(), run.rss_start, run.rss_end,
                      run.cpu_tenths_ms),
    )  # fmt: skip


NOT_SERVICES = frozenset({"broker", "driver", "postgres", "machine", "other", "steal"})


def per_saga(cpu: dict[str, float | None], settled: int) -> dict[str, float]:
    """CPU milliseconds per settled saga: the services (every process of the fleet), the PostgreSQL server
    (when used), the broker, and their sum (``total``): the cost of a saga wherever it was paid."""
    if not settled:
        return {}
    services = sum(v or 0.0 for k, v in cpu.items() if k not in NOT_SERVICES)
    parts = {"services": services, "postgres": cpu.get("postgres"), "broker": cpu.get("broker")}
    out = {k: round(v * 1000 / settled, 3) for k, v in parts.items() if v is not None}
    out["total"] = round(sum(out.values()), 3)
    return out
