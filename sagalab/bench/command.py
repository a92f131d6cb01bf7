"""``sagalab bench``: the raw chain of each mode's hop count first, then the sagas, in one run; ratios and verdicts."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from sagalab.bench.measure import ProcessDied
from sagalab.bench.peer.run import PeerMissing, prepare, requested, run_peers
from sagalab.bench.plan import BenchOptions, bench_orders, options_from
from sagalab.bench.raw import run_raw
from sagalab.bench.result import (
    BenchResult,
    Machine,
    ModeFigures,
    Pair,
    RunFigures,
    TargetOut,
)
from sagalab.bench.sagas import HOPS, run_saga
from sagalab.bench.stats import (
    latency_target,
    median,
    median_index,
    ratio,
    throughput_target,
)
from sagalab.bench.view import progress_bar, render
from sagalab.exits import EXIT_OK, EXIT_UNMET
from sagalab.run_folders import run_dir
from scenarios.processes import ServiceFailedToStart
from shared.config import Mode
from shared.domain.contracts import Order
from shared.transport.broker import Broker
from shared.transport.raw_chain import server_version
from shared.transport.topology import Topology

Phase = Callable[[BenchOptions, Mode, list[Order], Callable[[int], None]], Awaitable[RunFigures]]


def _commit() -> str:
    """The commit the figures were measured at (``+dirty`` when the tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=5)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else "unknown"


async def _phase(progress: Progress, label: str, total: int, phase: Phase, opts: BenchOptions, mode: Mode,
                 orders: list[Order]) -> RunFigures:  # fmt: skip
    task = progress.add_task(label, total=total)
    figures = await phase(opts, mode, orders, lambda n: progress.advance(task, n))
    progress.update(task, completed=figures.settled)
    return figures


def pair(raw: RunFigures, saga: RunFigures) -> Pair:
    return Pair(raw=raw, saga=saga, throughput_ratio=ratio(saga.throughput_per_s, raw.throughput_per_s),
                latency_ratio=ratio(saga.latency_ms.p50, raw.latency_ms.p50))  # fmt: skip


def compare(mode: Mode, pairs: list[Pair], opts: BenchOptions) -> ModeFigures:
    """A mode against the raw chain of its hop count: the median ratios over the pairs, and the issue's
    targets as this run measures them."""
    throughput = median([p.throughput_ratio for p in pairs])
    latency = median([p.latency_ratio for p in pairs])
    middle = pairs[median_index([p.throughput_ratio for p in pairs])]
    checks = [throughput_target(throughput, opts.concurrency, opts.failure_rate), latency_target(latency, opts.concurrency)]
    return ModeFigures(mode=mode, raw=middle.raw, saga=middle.saga, throughput_ratio=throughput,
                       latency_ratio=latency, targets=[TargetOut(**c.__dict__) for c in checks], pairs=pairs)  # fmt: skip


async def run_bench(opts: BenchOptions, progress: Progress, command: str = "sagalab bench") -> BenchResult:
    """Every raw chain first (the bar), then every mode, all in this one run, on one broker; with
    ``--repeat`` the whole sequence again, so slow drift of a shared machine hits both sides alike."""
    orders = bench_orders(opts.orders, opts.failure_rate, opts.seed, opts.run_token)
    broker = await server_version(opts.amqp_url)
    pairs: dict[Mode, list[Pair]] = {mode: [] for mode in opts.modes}
    for i in range(opts.repeat):
        suffix = f" ({i + 1}/{opts.repeat})" if opts.repeat > 1 else ""
        raws = {mode: await _phase(progress, f"raw chain, {HOPS[mode]} hops{suffix}", len(orders), run_raw, opts,
                                   mode, orders) for mode in opts.modes}  # fmt: skip
        for mode in opts.modes:
            saga = await _phase(progress, f"{mode}{suffix}", len(orders), run_saga, opts, mode, orders)
            pairs[mode].append(pair(raws[mode], saga))
    modes: dict[str, ModeFigures] = {mode: compare(mode, pairs[mode], opts) for mode in opts.modes}
    return BenchResult(
        command=command, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), commit=_commit(),
        machine=Machine(cores=os.cpu_count() or 0, broker=broker, durability=opts.durability,
                        queues=Topology(opts.namespace, durability=opts.durability).queue_type,
                        transport=os.environ.get("SAGALAB_TRANSPORT") or "plain"),
        orders=opts.orders,
        concurrency=opts.concurrency, failure_rate=opts.failure_rate, instances=opts.instances,
        repeat=opts.repeat, seed=opts.seed, workflow=opts.workflow, modes=modes,
        store="postgresql" if opts.store else "sqlite",
        ok=all(p.raw.verdict.ok and p.saga.verdict.ok for ps in pairs.values() for p in ps),
    )  # fmt: skip


async def bench(args: argparse.Namespace, console: Console) -> int:
    """Run the benchmark, print the figures and the targets, write the JSON; exit 1 if a run failed its verdict."""
    out_dir = args.out or run_dir("bench", "", args.namespace)
    opts = options_from(args, out_dir)
    os.environ["SAGALAB_TRANSPORT"] = args.transport  # every process of the bench inherits it
    os.environ["SAGALAB_DURABILITY"] = opts.durability  # and its durability
    probe = await Broker.connect(args.amqp_url, Topology(args.namespace, durability=opts.durability), "bench")  # exit 3
    await probe.close()
    try:
        peers = prepare(requested(args), say=lambda s: console.print(s, highlight=False))  # before any measuring
        with progress_bar(console) as progress:
            result = await run_bench(opts, progress, shlex.join(["sagalab", *sys.argv[1:]]))
            result.peers = await run_peers(opts, peers, progress)
    except (ProcessDied, ServiceFailedToStart, PeerMissing) as exc:
        console.print(Text(f"sagalab bench: {exc}", style="red"))
        return EXIT_UNMET
    render(result, console)
    console.print(f"run folder: {opts.out_dir}", highlight=False)
    if args.json:
        args.json.write_text(result.model_dump_json(indent=2))
    return EXIT_OK if result.ok else EXIT_UNMET

