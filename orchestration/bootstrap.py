"""Wire the orchestrator's process: its definition, store, executions and routes (a participant's process is
built in ``processes.py``, without the interpreter)."""

from __future__ import annotations

import asyncio
from importlib import resources as package_files
from pathlib import Path

from orchestration import retention
from orchestration.asl import StateMachine
from orchestration.definitions import Definition
from orchestration.executions import executions_for
from orchestration.orchestrator import Orchestrator
from orchestration.processes import NOTIFICATIONS, REPLIES, REPLY_KEY, STARTS, WORKFLOWS, build_participant_process
from orchestration.replicas import retrying_conflicts
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA, migrate
from shared.config import Settings, replicas_of
from shared.domain.contracts import MESSAGE_TYPES, Event, Message, PlaceOrder
from shared.runtime.faults import faults_of
from shared.runtime.host import ServiceHost
from shared.runtime.pruner import Pruning
from shared.runtime.routes import Route, Subscription
from shared.stores.dialect import SQLITE
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.topology import QueueSpec

DEFAULT_DEFINITION = "checkout.asl.json"


def default_definition_path() -> Path:
    return Path(str(package_files.files("orchestration") / DEFAULT_DEFINITION))


def load_current(definition: str | Path | None, resources: ResourceMap) -> Definition:
    """Load and check the definition new executions start on, including that every static Task resource is bound."""
    return Definition.from_file(Path(definition) if definition else default_definition_path(), resources)


def load_machine(definition: str | Path | None, resources: ResourceMap) -> StateMachine:
    """Load and check a definition (see ``load_current``), for callers that only need its state machine."""
    return load_current(definition, resources).machine


def orchestrator_subscriptions(orchestrator: Orchestrator, replies_queue: QueueSpec = REPLIES, replicas: int = 2
                                ) -> list[Subscription]:  # fmt: skip
    """The orchestrator's routes; ``replicas`` is how many orchestrators share its database (unknown: assume others)."""
    # Express keeps executions in memory: a redelivered order must run again, so no inbox and no outbox.
    durable = not orchestrator.express
    # Replies are deduplicated by the orchestrator itself (only the replies it applies; see on_reply).
    on_reply = Route(retrying_conflicts(orchestrator.on_reply, replicas=replicas), inbox=False, outbox=durable,
                     acks=orchestrator.acks)  # fmt: skip
    replies: dict[type[Message], Route] = {cls: on_reply for cls in MESSAGE_TYPES.values() if issubclass(cls, Event)}
    start = Route(retrying_conflicts(orchestrator.start, replicas=replicas), inbox=durable, outbox=durable,
                  acks=orchestrator.acks)  # fmt: skip
    starts: dict[type[Message], Route] = {PlaceOrder: start}
    return [Subscription(STARTS, starts), Subscription(replies_queue, replies)]


def build(settings: Settings, broker: Broker) -> ServiceHost:
    """An orchestration process, ready to start."""
    if settings.service != "orchestrator":
        return build_participant_process(settings, broker)
    resources = ResourceMap.load(settings.options.get("resources"))
    definition = load_current(settings.options.get("definition"), resources)
    db = Database(settings.database_path(), ORCHESTRATOR_SCHEMA)
    if db.dialect is SQLITE:  # a file written before executions were versioned; a PostgreSQL schema is made with it
        migrate(db.conn)
    workflow = settings.options.get("workflow", "standard")
    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow must be one of {', '.join(WORKFLOWS)}, not {workflow!r}")
    replicas = replicas_of(settings)
    executions = executions_for(workflow, replicas=replicas)  # type: ignore[arg-type]
    orchestrator = Orchestrator(definition, resources, db, executions, REPLY_KEY,
                                pinning="no-pinning" not in settings.unsafe)  # fmt: skip
    host = ServiceHost("orchestrator", db, broker, orchestrator_subscriptions(orchestrator, replicas=replicas),
                       unsafe=settings.unsafe, faults=faults_of(settings.faults))  # fmt: skip
    orchestrator.host = host
    host.pruning = Pruning(horizons=[*Pruning().horizons, retention.horizon()])  # finished executions too

    async def timers(stopping: asyncio.Event) -> None:
        await broker.declare_queue(NOTIFICATIONS)
        await orchestrator.run_timers(stopping)

    host.background = (timers,)
    return host
