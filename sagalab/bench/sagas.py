"""One saga mode under the closed-loop driver: real service processes, every defence on, judged by the oracle."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sagalab.bench.cpu import postgres_cpu
from sagalab.bench.driver import SettledRows
from sagalab.bench.measure import figures, measure, ready_within_s
from sagalab.bench.plan import BenchOptions, bench_scenario, expected_outcome
from sagalab.bench.result import RunFigures, Verdict
from scenarios import runner
from scenarios.oracle import judge
from scenarios.processes import Fleet, ServiceProcess, replica_options
from scenarios.result import ViolationOut
from scenarios.run_state import durability_of, publish_patiently
from scenarios.topologies import coordinator, services
from shared.config import Mode, Settings
from shared.domain.contracts import Order, PlaceOrder
from shared.runtime.handlers import DOMAIN_SERVICES
from shared.stores.read import read_only
from shared.stores.sqlite import ServiceView
from shared.transport.broker import Broker
from shared.transport.topology import Topology
from shared.transport.wire import Outgoing

HOPS: dict[Mode, int] = {"choreography": 5, "orchestration": 7}
"""Messages of one order on the happy path (and on the out-of-stock path) of each mode."""
VIOLATIONS_SHOWN = 10


def saga_fleet(options: runner.RunOptions, instances: int) -> Fleet:
    """Every service of the mode, ``instances`` competing processes each (they share the service's queues
    and database, a SQLite file or a PostgreSQL schema, the orchestrator's reply queue included)."""
    logs = options.out_dir / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # the logs of this run only
    logs.mkdir(parents=True)
    fleet = Fleet()
    for service in services(options.mode):
        for i in range(instances):
            settings = Settings(
                service=service, mode=options.mode, amqp_url=options.amqp_url, namespace=options.namespace,
                data_dir=options.out_dir / "data", instance=i,
                options=replica_options(service, options.service_options, instances),
                durability=durability_of(options),
            )  # fmt: skip
            fleet.processes.append(ServiceProcess(settings, logs / f"{service}{f'.{i}' if i else ''}.log"))
    return fleet


async def _dead_lettered(broker: Broker) -> int:
    channel = await broker.connection.channel()
    queue = await channel.declare_queue(broker.topology.dead_letter_queue, passive=True)
    count = int(queue.declaration_result.message_count or 0)
    await channel.close()
    return count


def count_messages(databases: list[Path], placed: int, express: bool) -> dict[str, int]:
    """Messages published, by type, without a tap: every service's outbox rows plus the PlaceOrders.

    An Express orchestrator publishes its commands unstaged; each is counted by the participant's inbox
    row for it (one per distinct command)."""
    counts: Counter[str] = Counter({"PlaceOrder": placed})
    for path in databases:
        with read_only(path) as db:
            view = ServiceView(db)
            counts.update(view.staged_by_type())
            if express and path.stem in DOMAIN_SERVICES:
                counts["commands (Express, unstaged)"] += view.handled()
    return dict(counts)


def verdict_of(data_dir: Path, coordinator_db: Path, orders: list[Order], dead_lettered: int) -> Verdict:
    """The oracle's verdict, plus whether each order ended as its SKU says it must."""
    found = judge(data_dir, coordinator_db, orders)
    unexpected = sum(1 for o in orders if found.outcomes.get(o.order_id) != expected_outcome(o))
    return Verdict(
        ok=found.ok and not unexpected and not dead_lettered,
        **{k: found.count(k) for k in ("completed", "compensated", "inconsistent", "stuck")},
        unexpected=unexpected, dead_lettered=dead_lettered,
        violations=[ViolationOut(**v.__dict__) for v in found.violations[:VIOLATIONS_SHOWN]],
    )  # fmt: skip


async def run_saga(opts: BenchOptions, mode: Mode, orders: list[Order], on_settled: Callable[[int], None]) -> RunFigures:
    """Start the mode's processes, drive the orders through them, stop them, count and judge."""
    options = runner.RunOptions(
        scenario=bench_scenario(opts.orders, opts.failure_rate, opts.seed), mode=mode, amqp_url=opts.amqp_url,
        out_dir=(opts.out_dir / mode).resolve(), namespace=opts.namespace, orders=len(orders), seed=opts.seed,
        service_options={"workflow": opts.workflow} if mode == "orchestration" else {}, run_token=opts.run_token,
        durability=opts.durability,
        store=opts.store,
    )  # fmt: skip
    data_dir = options.out_dir / "data"
    coordinator_db = data_dir / f"{coordinator(mode)}.db"
    commands = {o.order_id: Outgoing.command(PlaceOrder(correlation_id=o.order_id, order=o), "orders", reply_to=None)
                for o in orders}  # fmt: skip
    broker = await Broker.connect(opts.amqp_url, Topology(opts.namespace, durability=opts.durability), "bench")
    fleet = Fleet()
    try:
        await runner.reset_namespace(broker, mode)
        runner._prepare(options)
        fleet = saga_fleet(options, opts.instances)
        await fleet.start()
        await fleet.wait_ready(ready_within_s(fleet))

        async def place(order_id: str) -> None:
            await publish_patiently(broker, commands[order_id])

        groups: dict[str, Callable[[], float | None]] | None = {"postgres": postgres_cpu} if opts.store else None
        run, cpu = await measure(fleet, list(commands), place, SettledRows(coordinator_db), opts.concurrency,
                                 opts.drive_deadline_s, on_settled, groups, opts.amqp_url)  # fmt: skip
        await fleet.stop()
        dead = await _dead_lettered(broker)
    finally:
        await fleet.kill_all()
        await broker.close()
    verdict = verdict_of(data_dir, coordinator_db, orders, dead)
    databases = [data_dir / f"{service}.db" for service in services(mode)]
    messages = count_messages(databases, len(run.placed_at), express=opts.workflow == "express" and mode == "orchestration")
    return figures("saga", mode, HOPS[mode], opts.concurrency, opts.instances, run, cpu, verdict, messages,
                   str(options.out_dir))  # fmt: skip
