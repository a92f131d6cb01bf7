"""Orchestration's processes: who serves in this mode, what each consumes, how a participant's process is built,
and which workflows the orchestrator runs. Light on purpose: every process of the mode imports it (and ``sagalab
serve`` reads its ``--workflow`` choices here), while only the orchestrator's own process loads the interpreter and
its store (``bootstrap.py``)."""

from __future__ import annotations

from typing import Literal

from orchestration import participants
from orchestration.samples.participant import build_participant
from shared.config import Settings
from shared.domain.contracts import PlaceOrder, routing_key
from shared.runtime.faults import faults_of
from shared.runtime.handlers import DOMAIN_SERVICES, SCHEMAS
from shared.runtime.host import ServiceHost
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.topology import Binding, QueueSpec

SERVICES = ("orchestrator", *DOMAIN_SERVICES)
SAMPLE_PARTICIPANTS = ("lambdas",)
"""Participants that behave as the public sample definitions' functions (``orchestration/samples``)."""

Workflow = Literal["standard", "express"]
WORKFLOWS: tuple[Workflow, ...] = ("standard", "express")
"""Standard persists every step of an execution; Express keeps it in memory and runs it again after a crash."""

REPLY_KEY = "orchestrator"
"""The routing key participants answer the orchestrator on (its commands' ``reply_to``)."""

NOTIFICATIONS = QueueSpec("notifications", (Binding("events", "notifications.#"),), max_length=10_000)
"""Where ``sns:publish`` notifications land, so they are routable and can be inspected."""

STARTS = QueueSpec("orchestrator", (Binding("commands", routing_key(PlaceOrder)),), prefetch=256, suffix="starts")
REPLIES = QueueSpec("orchestrator", (Binding("replies", REPLY_KEY),), prefetch=256, suffix="replies")
"""Two queues, so executions waiting on replies never starve new orders of prefetch, or the reverse. Every replica
consumes both: any replica takes any reply for any execution (``replicas.py``)."""


def queue_specs() -> list[QueueSpec]:
    """Every queue of this mode, for the runner to declare and the tap to name receivers by."""
    return [STARTS, REPLIES, NOTIFICATIONS] + [
        sub.queue for service in DOMAIN_SERVICES for sub in participants.subscriptions(service)
    ]


def build_participant_process(settings: Settings, broker: Broker) -> ServiceHost:
    """A process that answers the orchestrator's commands: a domain service, or a sample definitions' participant."""
    if settings.service in DOMAIN_SERVICES:
        db = Database(settings.database_path(), SCHEMAS[settings.service])
        subs = participants.subscriptions(settings.service)
        return ServiceHost(settings.service, db, broker, subs, unsafe=settings.unsafe, faults=faults_of(settings.faults))
    if settings.service in SAMPLE_PARTICIPANTS:
        return build_participant(settings, broker)
    raise ValueError(f"no service {settings.service!r} in orchestration; choose one of {', '.join(SERVICES)}")
