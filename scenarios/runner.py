"""The scenario runner: start a mode's processes (or the participants the user brought), place the orders,
inject the scenario's faults, wait until every saga settles, stop the processes, and judge the run from the
participants' ledgers (the built-in services' own databases, or the ledger query) and the tap's trace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

import structlog

from scenarios import users
from scenarios.assess import assess
from scenarios.attach import run_attached
from scenarios.broker_control import BrokerControl
from scenarios.injectors import RunInjector
from scenarios.ledger import RULES_OF, Ledger, ProtocolLedger, StoreLedger, gather
from scenarios.oracle import judge
from scenarios.participants import EXTERNAL, ParticipantProcess, refuse_faults_on, wait_answering
from scenarios.processes import Fleet, ServiceProcess, replica_options
from scenarios.result import RunResult
from scenarios.run_state import Run, RunOptions, drain_tap, durability_of, keep_definition, place
from scenarios.scenario import Need
from scenarios.settle import wait_settled
from scenarios.topologies import queue_specs, services, wirings
from scenarios.trace import Trace
from shared.config import Mode, Settings
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.location import pin
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
    refuse_faults_on(scenario, mode, options.participants)
    run_started = time.monotonic()
    say = options.progress or (lambda _: None)
    say("connecting to the broker")
    # No broker is exit 3 before anything asks how to administer it (a container has no rabbitmqctl); either
    # failure comes before any process starts.
    broker = await Broker.connect(options.amqp_url, Topology(options.namespace, durability=durability_of(options)),
                                  "runner")  # fmt: skip
    try:
        admin = users.require_admin(options.amqp_url) if own_users else None
        if Need.BROKER_CONTROL in scenario.needs(mode):
            BrokerControl.require(options.amqp_url)
    except BaseException:
        await broker.close()
        raise
    fleet = Fleet()
    ledger = ProtocolLedger(broker)
    stopping = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await reset_namespace(broker, mode, keep={s for s, c in options.participants.items() if c == EXTERNAL})
        _prepare(options)
        trace = Trace(broker.topology, queue_specs(mode))
        await tap(broker, trace.observe)
        credentials = await users.provision(admin, options.amqp_url, options.namespace,
                                            services(mode)) if admin is not None else {}  # fmt: skip
        fleet = _fleet(options, credentials)
        say(f"starting {len(fleet.processes)} services")
        await fleet.start()
        await fleet.wait_ready()
        await wait_answering(ledger, options.participants, fleet)
        admission = scenario.orders(options.orders, options.seed, options.run_token)
        current = Run(options, broker, fleet, trace, admission.orders, stock=scenario.stock_for(options.orders),
                      rejected=admission.rejected, credentials=credentials)  # fmt: skip
        tasks = [asyncio.create_task(fleet.supervise(stopping))]
        tasks += [asyncio.create_task(_injecting(i, current)) for i in injectors]
        setup_s = time.monotonic() - run_started
        started = time.time()
        deadline = time.monotonic() + (options.deadline_s or scenario.deadline_s)
        say(f"placing {len(current.orders)} orders")
        await place(current, scenario.place_interval_s)
        settled = await _settle(current, tasks[1:], deadline)
        say("stopping the services and judging")
        duration = time.time() - started
        stopping.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for injector, task in zip(injectors, tasks[1:], strict=True):
            if task.cancelled():
                current.count(f"never injected: {type(injector).__name__}")
        queried, stored = _ledger_sources(options, ledger)
        effects = await gather(queried, [o.order_id for o in current.orders]) if queried else None  # while they run
        await fleet.stop()
        if effects is not None:
            await gather(stored, [], into=effects)
        await drain_tap(broker, trace)
        trace.save(options.out_dir / "trace.jsonl")
        verdict = judge(current.data_dir, current.coordinator_db, current.orders, effects=effects)
        result = assess(current, verdict, settled, duration)
        result.setup_s, result.run_s = round(setup_s, 2), round(time.monotonic() - run_started, 2)
        (options.out_dir / "result.json").write_text(result.model_dump_json(indent=2))
        return result
    finally:
        stopping.set()
        for task in tasks:
            task.cancel()
        await fleet.kill_all()
        await ledger.close()
        await broker.close()


def _ledger_sources(options: RunOptions, ledger: ProtocolLedger) -> tuple[dict[str, Ledger], dict[str, Ledger]]:
    """Which participants the oracle asks over the broker (the ones the user brought, or all with ``--ledger
    query``), and which it reads from their files; the default run reads every file, as it always has."""
    store = StoreLedger(options.out_dir / "data")
    queried: dict[str, Ledger] = {}
    stored: dict[str, Ledger] = {}
    for service in RULES_OF:
        if service in options.participants or options.ledger == "query":
            queried[service] = ledger
        else:
            stored[service] = store
    return queried, stored


async def _settle(current: Run, injecting: list[asyncio.Task[None]], deadline: float) -> bool:
    """Settled means every saga reached an end after every fault was injected (a fault that strikes
    once everything is over would prove nothing)."""
    scenario = current.options.scenario
    say = current.options.progress

    def tell(ended: int, placed: int, left_s: float) -> None:
        if say is not None:
            say(f"settling: {ended} of {placed} orders ended, {left_s:.0f} s to the deadline")

    settled = await wait_settled(current.coordinator_db, current.placed_at, deadline - time.monotonic(),
                                 scenario.attention_grace_s, tell)  # fmt: skip
    pending = [t for t in injecting if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=max(deadline - time.monotonic(), 0))
        settled = await wait_settled(current.coordinator_db, current.placed_at, max(deadline - time.monotonic(), 0.1),
                                     scenario.attention_grace_s, tell)  # fmt: skip
    return settled


async def _injecting(injector: RunInjector, current: Run) -> None:
    try:
        await injector.inject(current)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("fault injector failed", injector=repr(injector), error=repr(exc))
        current.count(f"injector failed: {type(injector).__name__}")


async def reset_namespace(broker: Broker, mode: Mode, keep: Collection[str] = ()) -> None:
    """Start from empty queues: a previous run in this namespace may have left messages behind. The queues of
    ``keep`` (participants the user runs) are emptied, not deleted, so their consumers stay."""
    t = broker.topology
    channel = await broker.connection.channel()
    specs = [spec for each in wirings() for spec in each.queue_specs()]  # either mode's leftovers
    names = [t.queue(spec) for spec in specs if not (spec.service in keep and not spec.suffix)]
    for name in [*names, t.tap_queue, t.dead_letter_queue]:
        await channel.queue_delete(name)
    await broker.declare_exchanges(channel)
    for spec in queue_specs(mode):
        queue = await broker.declare_queue(spec, channel)
        if spec.service in keep:
            await queue.purge()
    await channel.close()


def _prepare(options: RunOptions) -> None:
    data_dir = options.out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("*"):
        old.unlink()
    if options.store is not None:  # this run's schemas: fresh ones, beside any earlier run's of the namespace
        pin(data_dir, options.store, options.namespace, f"{options.namespace}:{options.run_token}-{options.mode[:5]}")
    db = Database(data_dir / "inventory.db", INVENTORY_SCHEMA)
    with db.transaction() as conn:
        stock_up(conn, options.scenario.stock_for(options.orders))
    db.close()
    keep_definition(options)


def _fleet(options: RunOptions, credentials: dict[str, str]) -> Fleet:
    """The mode's processes: ``sagalab serve`` for each service, or the user's command in its place (nothing
    for a participant the user runs)."""
    logs = options.out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    scenario, mode = options.scenario, options.mode
    fleet = Fleet()
    for service in services(mode):
        command = options.participants.get(service)
        if command == EXTERNAL:
            continue
        service_options = dict(scenario.service_options.get(service, {}))
        if service == "orchestrator":
            service_options |= options.service_options
        replicas = options.instances if command is None else 1  # a participant the user brings runs once
        for instance in range(replicas):
            settings = Settings(
                service=service, mode=mode, amqp_url=credentials.get(service, options.amqp_url),
                namespace=options.namespace, data_dir=options.out_dir / "data", unsafe=options.unsafe | scenario.unsafe,
                faults=scenario.faults.get(mode, {}).get(service, ()), instance=instance,
                options=service_options | replica_options(service, {}, replicas), durability=durability_of(options),
            )  # fmt: skip
            log_path = logs / f"{service}{f'.{instance}' if instance else ''}.log"
            fleet.processes.append(ServiceProcess(settings, log_path) if command is None else
                                   ParticipantProcess(settings, log_path, command, scenario.stock_for(options.orders)))
    return fleet


