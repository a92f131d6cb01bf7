"""``--peer``: which peers a bench runs after its modes, checked before anything is measured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from rich.progress import Progress

from sagalab.bench.peer import durable
from sagalab.bench.peer.engine import PeerMissing, ensure_installed, run_asl
from sagalab.bench.peer.options import PEERS, add_peer_argument, requested
from sagalab.bench.plan import BenchOptions, bench_orders
from sagalab.bench.result import RunFigures


def prepare(peers: Sequence[str], say: Callable[[str], None]) -> dict[str, Path]:
    """Each peer's Python, installed if missing; PeerMissing (with why) if one cannot be had."""
    return {peer: ensure_installed(say=say) if peer == "asl" else durable.ensure_installed(peer, say=say)
            for peer in peers}  # fmt: skip


async def run_peers(opts: BenchOptions, pythons: dict[str, Path], progress: Progress) -> dict[str, RunFigures]:
    """Every requested peer, one after the other, on the bench's own orders."""
    orders = bench_orders(opts.orders, opts.failure_rate, opts.seed, opts.run_token)
    found: dict[str, RunFigures] = {}
    for peer, python in pythons.items():
        task = progress.add_task(f"peer: {peer}", total=len(orders))
        runner: Callable[..., Awaitable[RunFigures]] = run_asl if peer == "asl" else durable.runner(peer)
        found[peer] = await runner(opts, orders, lambda n, task=task: progress.advance(task, n), python=python)
        progress.update(task, completed=found[peer].settled)
    return found


__all__ = ["PEERS", "PeerMissing", "add_peer_argument", "prepare", "requested", "run_peers"]
