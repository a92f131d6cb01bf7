"""The scenario runner: start a mode's processes, place the orders, inject the scenario's faults, wait
until every saga settles, stop the processes, and judge the run from the services' own databases and
the tap's trace."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from scenarios import users
from scenarios.assess import assess
from scenarios.broker_control import BrokerControl
from scenarios.catalogue import Scenario
from scenarios.edge import Rejected
from scenarios.oracle import judge
from scenarios.processes import Fleet, ServiceProcess
from scenarios.result import RunResult
from scenarios.settle import wait_settled
from scenarios.topologies import coordinator, queue_specs, services
from scenarios.trace import MARKER_TYPE, Trace
from shared.config import Mode, Settings, default_namespace
from shared.domain.contracts import Order, PlaceOrder
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.sqlite import Database
from shared.transport.broker import Broker, PublishFailed
from shared.transport.tap import tap
from shared.transport.topology import Topology
from shared.transport.wire import Outgoing

log = structlog.get_logger()


@dataclass
class RunOptions:
    scenario: Scenario
    mode: Mode
    amqp_url: str
    out_dir: Path
    namespace: str = field(default_factory=default_namespace)
    orders: int | None = None
    seed: int = 7
    unsafe: frozenset[str] = frozenset()
    deadline_s: float | None = None
    service_options: dict[str, str] = field(default_factory=dict)
    """Options for the orchestrator (definition, resources, workflow)."""
    include_history: bool = False
    """Orchestration: put every execution's history in the result JSON (``extra.history``)."""
    own_users: bool = False
    """Give each service its own broker user (``scenarios/users.py``); the publisher check is then on."""
    attach: Path | None = None
    """Drive services that are already running (a compose stack) instead of starting them: see attach.py."""
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
    stock: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    """Orders the scenario meant to place that the edge refused (out of bounds): never placed, but counted."""
    placed_at: dict[str, float] = field(default_factory=dict)
    injected: Counter[str] = field(default_factory=Counter)
    credentials: dict[str, str] = field(default_factory=dict)
    """Each service's own AMQP URL when the run gave the services users of their own (else empty)."""
    _control: BrokerControl | None = None

    @property
    def data_dir(self) -> Path:
        return self.options.out_dir / "data"

    @property
    def coordinator_db(self) -> Path:
        return self.data_dir / f"{coordinator(self.options.mode)}.db"

    def count(self, fault: str) -> None:
        self.injected[fault] += 1

    @property
    def publisher_check(self) -> bool:
        """Consumers check who published each message: services have their own users, and the check is not off.

        Attached to a running stack, the trace tells: every service message came from its service's own user."""
        if self.options.attach is not None:
            return self.trace.from_own_users(self.options.namespace)
        return bool(self.credentials) and "no-publisher-check" not in self.options.unsafe | self.options.scenario.unsafe

    def broker_control(self) -> BrokerControl:
        self._control = self._control or BrokerControl.require(self.options.amqp_url)
        return self._control


async def run(options: RunOptions) -> RunResult:
    """Run a scenario in one mode, start to finish. Raises BrokerUnavailable if there is no broker."""
    if options.attach is not None:
        from scenarios.attach import run_attached

        return await run_attached(options)
    scenario, mode = options.scenario, options.mode
    injectors = scenario.injectors.get(mode, ())
    own_users = options.own_users or scenario.own_users
    admin = users.require_admin(options.amqp_url) if own_users else None  # fail before starting anything
    if any(type(i).__name__ in ("RestartBroker", "CloseConnections") for i in injectors):
        BrokerControl.require(options.amqp_url)
    broker = await Broker.connect(options.amqp_url, Topology(options.namespace), "runner")
    fleet = Fleet()
    stopping = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await reset_namespace(broker, mode)
        _prepare(options)
        trace = Trace(broker.topology, queue_specs(mode))
        await tap(broker, trace.observe)
        credentials = await users.provision(admin, options.amqp_url, options.namespace,
                                            services(mode)) if admin is not None else {}  # fmt: skip
        fleet = _fleet(options, credentials)
        fleet.start()
        await fleet.wait_ready()
        admission = scenario.orders(options.orders, options.seed, options.run_token)
        current = Run(options, broker, fleet, trace, admission.orders, stock=scenario.stock_for(options.orders),
                      rejected=admission.rejected, credentials=credentials)  # fmt: skip
        tasks = [asyncio.create_task(fleet.supervise(stopping))]
        tasks += [asyncio.create_task(_injecting(i, current)) for i in injectors]
        started = time.time()
        deadline = time.monotonic() + (options.deadline_s or scenario.deadline_s)
        await place(current, scenario.place_interval_s)
        settled = await _settle(current, tasks[1:], deadline)
        duration = time.time() - started
        stopping.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for injector, task in zip(injectors, tasks[1:], strict=True):
            if task.cancelled():
                current.count(f"never injected: {type(injector).__name__}")
        await fleet.stop()
        await drain_tap(broker, trace)
        trace.save(options.out_dir / "trace.jsonl")
        result = assess(current, judge(current.data_dir, current.coordinator_db, current.orders), settled, duration)
        (options.out_dir / "result.json").write_text(result.model_dump_json(indent=2))
        return result
    finally:
        stopping.set()
        for task in tasks:
            task.cancel()
        fleet.kill_all()
        await broker.close()


async def _settle(current: Run, injecting: list[asyncio.Task[None]], deadline: float) -> bool:
    """Settled means every saga reached an end after every fault was injected (a fault that strikes
    once everything is over would prove nothing)."""
    scenario = current.options.scenario
    settled = await wait_settled(current.coordinator_db, current.placed_at, deadline - time.monotonic(),
                                 scenario.attention_grace_s)  # fmt: skip
    pending = [t for t in injecting if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=max(deadline - time.monotonic(), 0))
        settled = await wait_settled(current.coordinator_db, current.placed_at, max(deadline - time.monotonic(), 0.1),
                                     scenario.attention_grace_s)  # fmt: skip
    return settled


async def _injecting(injector: object, current: Run) -> None:
    try:
        await injector.inject(current)  # type: ignore[attr-defined]
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("fault injector failed", injector=repr(injector), error=repr(exc))
        current.count(f"injector failed: {type(injector).__name__}")


async def reset_namespace(broker: Broker, mode: Mode) -> None:
    """Start from empty queues: a previous run in this namespace may have left messages behind."""
    t = broker.topology
    channel = await broker.connection.channel()
    names = [t.queue(spec) for spec in queue_specs("choreography") + queue_specs("orchestration")]
    for name in [*names, t.tap_queue, t.dead_letter_queue]:
        await channel.queue_delete(name)
    await broker.declare_exchanges(channel)
    for spec in queue_specs(mode):
        await broker.declare_queue(spec, channel)
    await channel.close()


def _prepare(options: RunOptions) -> None:
    data_dir = options.out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("*"):
        old.unlink()
    db = Database(data_dir / "inventory.db", INVENTORY_SCHEMA)
    with db.transaction() as conn:
        stock_up(conn, options.scenario.stock_for(options.orders))
    db.close()
    keep_definition(options)


def keep_definition(options: RunOptions) -> None:
    """A copy of the definition an orchestration run used, for reports that draw its state graph."""
    if options.mode != "orchestration":
        return
    from orchestration.bootstrap import default_definition_path

    source = Path(options.service_options.get("definition") or default_definition_path())
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "definition.asl.json").write_text(source.read_text())


def _fleet(options: RunOptions, credentials: dict[str, str]) -> Fleet:
    logs = options.out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    scenario, mode = options.scenario, options.mode
    fleet = Fleet()
    for service in services(mode):
        service_options = dict(scenario.service_options.get(service, {}))
        if service == "orchestrator":
            service_options |= options.service_options
        settings = Settings(
            service=service, mode=mode, amqp_url=credentials.get(service, options.amqp_url), namespace=options.namespace,
            data_dir=options.out_dir / "data", unsafe=options.unsafe | scenario.unsafe,
            faults=scenario.faults.get(mode, {}).get(service, ()), options=service_options,
        )  # fmt: skip
        fleet.processes.append(ServiceProcess(settings, logs / f"{service}.log"))
    return fleet


async def place(run: Run, interval_s: float = 0.0) -> None:
    """Publish every order's PlaceOrder, as a client of the order service would (retrying while the
    broker is away)."""
    for i, order in enumerate(run.orders):
        if interval_s and i:
            await asyncio.sleep(interval_s)  # the scenario's pace of orders
        command = PlaceOrder(correlation_id=order.order_id, order=order)
        run.placed_at[order.order_id] = time.time()
        await publish_patiently(run.broker, Outgoing.command(command, "orders", reply_to=None))


async def publish_patiently(broker: Broker, out: Outgoing, give_up_s: float = 60.0) -> None:
    end = time.monotonic() + give_up_s
    while True:
        try:
            await broker.publish(out)
            return
        except PublishFailed:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)  # the broker is restarting; try again shortly


async def drain_tap(broker: Broker, trace: Trace, timeout_s: float = 10.0) -> None:
    """Publish a marker behind everything else; once the tap sees it, it has seen all that came before."""
    marker = secrets.token_hex(8)
    await broker.publish_raw(broker.topology.exchange("events"), "sagalab.tap-marker", b"{}",
                             type=MARKER_TYPE, message_id=marker)  # fmt: skip
    end = time.monotonic() + timeout_s
    while marker not in trace.marker_seen and time.monotonic() < end:
        await asyncio.sleep(0.01)  # polling the trace with a deadline
