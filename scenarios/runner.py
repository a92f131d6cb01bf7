"""The scenario runner: start a mode's processes, place the orders, inject the scenario's faults, wait
until every saga settles, stop the processes, and judge the run from the services' own databases and
the tap's trace."""

from __future__ import annotations

import asyncio
import time

import structlog

from scenarios import users
from scenarios.assess import assess
from scenarios.attach import run_attached
from scenarios.broker_control import BrokerControl
from scenarios.injectors import RunInjector
from scenarios.oracle import judge
from scenarios.processes import Fleet, ServiceProcess
from scenarios.result import RunResult
from scenarios.run_state import Run, RunOptions, drain_tap, keep_definition, place
from scenarios.scenario import Need
from scenarios.settle import wait_settled
from scenarios.topologies import WIRINGS, queue_specs, services
from scenarios.trace import Trace
from shared.config import Mode, Settings
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.tap import tap
from shared.transport.topology import Topology

log = structlog.get_logger()


async def run(options: RunOptions) -> RunResult:
    """Run a scenario in one mode, start to finish. Raises BrokerUnavailable if there is no broker."""
    if options.attach is not None:
        return await run_attached(options)
    scenario, mode = options.scenario, options.mode
    injectors: tuple[RunInjector, ...] = scenario.injectors.get(mode, ())
    own_users = options.own_users or scenario.own_users
    # No broker is exit 3 before anything asks how to administer it (a container has no rabbitmqctl); either
    # failure comes before any process starts.
    broker = await Broker.connect(options.amqp_url, Topology(options.namespace), "runner")
    try:
        admin = users.require_admin(options.amqp_url) if own_users else None
        if Need.BROKER_CONTROL in scenario.needs(mode):
            BrokerControl.require(options.amqp_url)
    except BaseException:
        await broker.close()
        raise
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
        await fleet.start()
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
        await fleet.kill_all()
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


async def _injecting(injector: RunInjector, current: Run) -> None:
    try:
        await injector.inject(current)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("fault injector failed", injector=repr(injector), error=repr(exc))
        current.count(f"injector failed: {type(injector).__name__}")


async def reset_namespace(broker: Broker, mode: Mode) -> None:
    """Start from empty queues: a previous run in this namespace may have left messages behind."""
    t = broker.topology
    channel = await broker.connection.channel()
    names = [t.queue(spec) for each in WIRINGS.values() for spec in each.queue_specs()]  # either mode's leftovers
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


