"""What a benchmark run is asked to do, and the orders it places."""

from __future__ import annotations

import argparse
import os
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.processes import WORKFLOWS
from sagalab.exits import UsageError
from scenarios.edge import admit
from scenarios.scenario import Scenario, same
from shared.config import DURABILITIES, MODES, Durability, Mode
from shared.domain.contracts import Order
from shared.transport.broker import TRANSPORTS

IN_STOCK_SKU = "KEYBOARD"
OUT_OF_STOCK_SKU = "WEBCAM"
"""Stocked at zero, as the catalogue's out-of-stock scenario stocks its keyboard: the charge is refunded."""


@dataclass(frozen=True)
class BenchOptions:
    modes: tuple[Mode, ...]
    amqp_url: str
    out_dir: Path
    orders: int = 2000
    concurrency: int = 100
    failure_rate: float = 0.0
    instances: int = 1
    seed: int = 7
    workflow: str = "standard"
    namespace: str = "sagalab"
    prefetch: int = 128
    """The raw relays' prefetch (the services keep their own)."""
    repeat: int = 1
    """Pairs of (raw chain, saga) runs per mode; the ratios reported are the medians over the pairs."""
    deadline_s: float | None = None
    durability: Durability = "strict"
    """Both the sagas and the raw chain: quorum queues and confirms (strict), or classic queues, no confirms."""
    store: str | None = None
    """A PostgreSQL URL for the services' databases, or None for SQLite files."""
    run_token: str = field(default_factory=lambda: secrets.token_hex(3))

    @property
    def drive_deadline_s(self) -> float:
        """Generous: a stuck run should end, a slow one should still be measured."""
        return self.deadline_s or 120.0 + 0.05 * self.orders


def failing_indexes(n: int, failure_rate: float, seed: int) -> set[int]:
    """Exactly ``round(n * failure_rate)`` orders, chosen by the seed, go out of stock."""
    count = min(n, max(0, round(n * failure_rate)))
    return set(random.Random(seed).sample(range(n), count))


def bench_orders(n: int, failure_rate: float, seed: int, run_token: str) -> list[Order]:
    """Alike orders of one keyboard; the failing share asks for a SKU that has no stock."""
    orders = admit(same()(n, random.Random(seed), run_token)).orders
    failing = failing_indexes(n, failure_rate, seed)
    return [o.with_skus({IN_STOCK_SKU: OUT_OF_STOCK_SKU}) if i in failing else o for i, o in enumerate(orders)]


def bench_scenario(n: int, failure_rate: float, seed: int) -> Scenario:
    """The bench as a scenario, so the runner prepares its stock and databases as for any run."""
    return Scenario(
        "bench", "Orders at a steady concurrency; a share find their SKU out of stock.",
        {IN_STOCK_SKU: n, OUT_OF_STOCK_SKU: 0},
        lambda count, rng, token: bench_orders(count, failure_rate, seed, token), default_orders=n,
    )  # fmt: skip


def expected_outcome(order: Order) -> str:
    return "compensated" if OUT_OF_STOCK_SKU in order.quantities() else "completed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``sagalab bench`` (the common ones, broker URL and namespace, are added by the CLI)."""
    p.add_argument("--mode", choices=(*MODES, "both"), default="both", help="one mode, or each in turn")
    p.add_argument("--orders", type=int, default=2000, help="orders per run (default: 2000)")
    p.add_argument("--concurrency", type=int, default=100, help="orders kept in flight (default: 100)")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of orders that go out of stock (0..1)")
    p.add_argument("--instances", type=int, default=1, help="competing processes per service and per relay")
    p.add_argument("--repeat", type=int, default=1,
                   help="measure each mode and its raw chain this many times, alternating; report median ratios")
    p.add_argument("--seed", type=int, default=7, help="seed of the orders and their failures")
    p.add_argument("--workflow", choices=WORKFLOWS, default="standard", help="orchestration: standard or express")
    p.add_argument("--json", type=Path, help="write the figures as JSON here")
    p.add_argument("--out", type=Path,
                   help="folder for the runs' databases and logs (default: $SAGALAB_HOME/runs/...; SAGALAB_HOME "
                        "defaults to .sagalab)")  # fmt: skip
    p.add_argument("--deadline", type=float, help="seconds each run may take (default: 120 + 0.05 per order)")
    p.add_argument("--durability", choices=DURABILITIES, default=os.environ.get("SAGALAB_DURABILITY") or "strict",
                   help="strict (quorum queues, publisher confirms) or light (classic durable queues, persistent "
                        "messages, no confirms), for the sagas and the raw chain alike")  # fmt: skip
    p.add_argument("--transport", choices=sorted(TRANSPORTS), default=os.environ.get("SAGALAB_TRANSPORT") or "fast",
                   help="the services' transport: fast (aiormq under aio-pika's channels, what the bench measures "
                        "unless told otherwise) or plain (aio-pika's own objects, the default of every other "
                        "command; about 12%% more CPU per saga here)")  # fmt: skip


def options_from(args: argparse.Namespace, out_dir: Path) -> BenchOptions:
    """Check the options and turn them into a plan; bad values are usage errors (exit 2)."""
    if min(args.orders, args.concurrency, args.instances, args.repeat) < 1:
        raise UsageError("--orders, --concurrency, --instances and --repeat must be at least 1")
    if not 0.0 <= args.failure_rate <= 1.0:
        raise UsageError("--failure-rate is a share between 0 and 1")
    modes: tuple[Mode, ...] = MODES if args.mode == "both" else (args.mode,)
    return BenchOptions(
        modes=modes, amqp_url=args.amqp_url, out_dir=out_dir.resolve(), orders=args.orders,
        concurrency=args.concurrency, failure_rate=args.failure_rate, instances=args.instances, seed=args.seed,
        workflow=args.workflow, namespace=args.namespace, deadline_s=args.deadline, repeat=args.repeat,
        durability=args.durability,
        store=getattr(args, "store", None),
    )  # fmt: skip
