"""The scenario runner: start a mode's processes, place the orders, wait until every saga settles,
stop the processes, and judge the run from the services' own databases and the tap's trace."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.catalogue import Scenario
from scenarios.oracle import Verdict, judge
from scenarios.processes import Fleet, ServiceProcess
from scenarios.result import Consistency, Latency, MessageCounts, OrderCounts, RunResult, ViolationOut
from scenarios.topologies import coordinator, queue_specs, services
from scenarios.trace import MARKER_TYPE, Trace
from shared.config import Mode, Settings
from shared.contracts import Order, PlaceOrder
from shared.messaging.broker import Broker, tap
from shared.messaging.topology import Topology
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.orders import FINAL_STATUSES
from shared.stores.sqlite import Database
from shared.wire import Outgoing


@dataclass
class RunOptions:
    scenario: Scenario
    mode: Mode
    amqp_url: str
    out_dir: Path
    namespace: str = "sagalab"
    orders: int | None = None
    seed: int = 7
    unsafe: frozenset[str] = frozenset()
    deadline_s: float | None = None
    service_options: dict[str, str] = field(default_factory=dict)
    run_token: str = field(default_factory=lambda: secrets.token_hex(3))
    """Part of every order id; a comparison gives both modes the same one, so the same order can be
    followed through both."""


@dataclass
class Run:
    """One run in progress: what the fault injectors and the runner share."""

    options: RunOptions
    broker: Broker
    fleet: Fleet
    trace: Trace
    orders: list[Order]
    placed_at: dict[str, float] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.options.out_dir / "data"

    @property
    def coordinator_db(self) -> Path:
        return self.data_dir / f"{coordinator(self.options.mode)}.db"


async def run(options: RunOptions) -> RunResult:
    """Run a scenario in one mode, start to finish. Raises BrokerUnavailable if there is no broker."""
    topology = Topology(options.namespace)
    broker = await Broker.connect(options.amqp_url, topology, "runner")
    fleet = Fleet()
    try:
        await reset_namespace(broker, options.mode)
        data_dir = options.out_dir / "data"
        _prepare(data_dir, options.scenario.stock_for(options.orders))
        if options.mode == "orchestration":
            _keep_definition(options)
        trace = Trace(topology, queue_specs(options.mode))
        await tap(broker, trace.observe)
        fleet = _fleet(options, data_dir)
        fleet.start()
        await fleet.wait_ready()
        orders = options.scenario.orders(options.orders, options.seed, options.run_token)
        current = Run(options, broker, fleet, trace, orders)
        started = time.time()
        await place(current)
        deadline = options.deadline_s or options.scenario.deadline_s
        settled = await wait_settled(current, deadline)
        duration = time.time() - started
        await fleet.stop()
        await drain_tap(broker, trace)
        trace.save(options.out_dir / "trace.jsonl")
        result = _result(current, judge(data_dir, current.coordinator_db, orders), settled, duration)
        (options.out_dir / "result.json").write_text(result.model_dump_json(indent=2))
        return result
    finally:
        fleet.kill_all()
        await broker.close()


async def reset_namespace(broker: Broker, mode: Mode) -> None:
    """Start from empty queues: a previous run in this namespace may have left messages behind."""
    t = broker.topology
    channel = await broker.connection.channel()
    names = [t.queue(spec) for spec in queue_specs("choreography") + queue_specs("orchestration")]
    for name in [*names, t.tap_queue, t.dead_letter_queue, f"{t.namespace}.notifications"]:
        await channel.queue_delete(name)
    await broker.declare_exchanges(channel)
    for spec in queue_specs(mode):
        await broker.declare_queue(spec, channel)
    await channel.close()


def _prepare(data_dir: Path, stock: dict[str, int]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("*"):
        old.unlink()
    db = Database(data_dir / "inventory.db", INVENTORY_SCHEMA)
    with db.transaction() as conn:
        stock_up(conn, stock)
    db.close()


def _keep_definition(options: RunOptions) -> None:
    """A copy of the definition the run used, for reports that draw its state graph."""
    from orchestration.bootstrap import default_definition_path

    source = Path(options.service_options.get("definition") or default_definition_path())
    (options.out_dir / "definition.asl.json").write_text(source.read_text())


def _fleet(options: RunOptions, data_dir: Path) -> Fleet:
    (options.out_dir / "logs").mkdir(parents=True, exist_ok=True)
    fleet = Fleet()
    for service in services(options.mode):
        settings = Settings(
            service=service, mode=options.mode, amqp_url=options.amqp_url, namespace=options.namespace,
            data_dir=data_dir, unsafe=options.unsafe,
            options=options.service_options if service == "orchestrator" else {},
        )  # fmt: skip
        fleet.processes.append(ServiceProcess(settings, options.out_dir / "logs" / f"{service}.log"))
    return fleet


async def place(run: Run) -> None:
    """Publish every order's PlaceOrder, as a client of the order service would."""
    for order in run.orders:
        command = PlaceOrder(correlation_id=order.order_id, order=order)
        run.placed_at[order.order_id] = time.time()
        await run.broker.publish(Outgoing.command(command, "orders", reply_to=None))


async def wait_settled(run: Run, deadline_s: float) -> bool:
    """Poll the coordinator's orders table until every order is final or the deadline passes."""
    end = time.monotonic() + deadline_s
    ids = set(run.placed_at)
    while time.monotonic() < end:
        if ids <= _final_ids(run.coordinator_db):
            return True
        await asyncio.sleep(0.05)  # polling the coordinator's database with a deadline
    return False


def _final_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        marks = ",".join("?" * len(FINAL_STATUSES))
        return {r[0] for r in conn.execute(f"SELECT order_id FROM orders WHERE status IN ({marks})",
                                           tuple(FINAL_STATUSES))}  # fmt: skip
    except sqlite3.OperationalError:
        return set()
    finally:
        conn.close()


def settled_at(path: Path) -> dict[str, float]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return dict(conn.execute("SELECT order_id, settled_at FROM orders WHERE settled_at IS NOT NULL"))
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


async def drain_tap(broker: Broker, trace: Trace, timeout_s: float = 10.0) -> None:
    """Publish a marker behind everything else; once the tap sees it, it has seen all that came before."""
    marker = secrets.token_hex(8)
    await broker.publish_raw(broker.topology.exchange("events"), "sagalab.tap-marker", b"{}",
                             type=MARKER_TYPE, message_id=marker)  # fmt: skip
    end = time.monotonic() + timeout_s
    while marker not in trace.marker_seen and time.monotonic() < end:
        await asyncio.sleep(0.01)  # polling the trace with a deadline


def _result(run: Run, verdict: Verdict, settled: bool, duration_s: float) -> RunResult:
    opts, orders = run.options, run.orders
    done_at = settled_at(run.coordinator_db) if run.coordinator_db.exists() else {}
    latencies = [(done_at[o] - run.placed_at[o]) * 1000 for o in run.placed_at if o in done_at]
    by_type = run.trace.by_type()
    total = sum(by_type.values())
    result = RunResult(
        scenario=opts.scenario.name, mode=opts.mode, seed=opts.seed,
        orders=OrderCounts(total=len(orders), **{k: verdict.count(k) for k in
                                                  ("completed", "compensated", "inconsistent", "stuck")}),
        consistency=Consistency(ok=verdict.ok, violations=[ViolationOut(**v.__dict__) for v in verdict.violations]),
        messages=MessageCounts(total=total, per_order=round(total / max(len(orders), 1), 2), by_type=by_type,
                               dead_lettered=run.trace.dead_lettered()),
        latency_ms=Latency.of(latencies), duration_s=round(duration_s, 3), settled=settled,
        expectation_met=False, namespace=opts.namespace, run_dir=str(opts.out_dir), outcomes=verdict.outcomes,
    )  # fmt: skip
    failures = expectation_failures(opts.scenario, result, orders, opts.scenario.stock_for(opts.orders))
    return result.model_copy(update={"expectation_met": not failures, "expectation_failures": failures})


def expectation_failures(
    scenario: Scenario, result: RunResult, orders: list[Order], stock: dict[str, int]
) -> list[str]:
    """Why a run does not match what its scenario expects (empty when it does)."""
    expect, failures = scenario.expect, []
    if not result.settled:
        failures.append("the run did not settle before its deadline")
    if expect.consistent and not result.consistency.ok:
        rules = sorted({v.rule for v in result.consistency.violations})
        failures.append(f"violations: {', '.join(rules)}")
    if not expect.consistent:
        seen = {v.rule for v in result.consistency.violations}
        missing = expect.violations - seen
        if missing or not seen:
            failures.append(f"expected violations not seen: {', '.join(sorted(missing)) or 'any'}")
    if expect.outcome:
        off = [o for o, outcome in result.outcomes.items() if outcome != expect.outcome]
        if off:
            failures.append(f"{len(off)} order(s) not {expect.outcome}")
    for order in orders:
        predicted = scenario.predict(order, stock)
        actual = result.outcomes.get(order.order_id)
        if predicted and actual != predicted:
            failures.append(f"{order.order_id} should be {predicted}, was {actual}")
    return failures
