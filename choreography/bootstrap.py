"""Wire one choreography service: its queue bindings, its handlers and its database."""

from __future__ import annotations

from dataclasses import replace

from choreography import order_service
from choreography.reactions import Reaction, event_key, reactions_of, watched_events
from shared.config import Settings
from shared.domain.contracts import Message, PlaceOrder, routing_key
from shared.runtime.faults import faults_of
from shared.runtime.handlers import SCHEMAS, failure_of, handle_command, step_of
from shared.runtime.host import ServiceHost
from shared.runtime.routes import Fail, Handle, Route, Step, Subscription, Tx
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.topology import Binding, QueueSpec
from shared.transport.wire import Outgoing

SERVICES = ("orders", "payment", "inventory", "shipping")


def schema(service: str) -> str:
    return order_service.ORDER_SERVICE_SCHEMA if service == "orders" else SCHEMAS[service]


def subscriptions(service: str, prefetch: int = 64) -> list[Subscription]:
    if service == "orders":
        routes: dict[type[Message], Route] = {PlaceOrder: Route(order_service.place_order)}
        routes.update({event: Route(order_service.watch) for event in watched_events()})
        keys = [Binding("commands", routing_key(PlaceOrder))]
        # ``.#``: the order service sees an order's events whatever line they are about
        keys += [Binding("events", f"{routing_key(e)}.#") for e in sorted(watched_events(), key=lambda e: e.__name__)]
        return [Subscription(QueueSpec("orders", tuple(keys), prefetch), routes)]
    reactions = reactions_of(service)
    if not reactions:
        raise ValueError(f"no service {service!r} in choreography; choose one of {', '.join(SERVICES)}")
    by_event: dict[type[Message], list[Reaction]] = {}
    for r in reactions:
        by_event.setdefault(r.when, []).append(r)
    reacting: dict[type[Message], Route] = {event: Route(_react(rs), step=_step(rs)) for event, rs in by_event.items()}
    bound = tuple(Binding("events", r.binding_key()) for r in reactions)
    return [Subscription(QueueSpec(service, bound, prefetch), reacting)]


def _react(reactions: list[Reaction]) -> Handle:
    def handle(event: Message, tx: Tx) -> list[Outgoing]:
        outcomes = [handle_command(r.command_for(event), tx.conn) for r in reactions if r.applies_to(event)]
        return [Outgoing.of(outcome, "events", event_key(outcome)) for outcome in outcomes]

    return handle


def _step(reactions: list[Reaction]) -> Step:
    """The saga step the service takes for this event (its business key, barrier and failure event), for the
    line the reaction is for; an event the reaction is not for takes no step."""
    if len(reactions) == 1:
        r = reactions[0]
        return replace(step_of(r.does, _fail(reactions)), line=r.line, applies=r.applies_to)
    return Step("+".join(r.does.__name__ for r in reactions))


def _fail(reactions: list[Reaction]) -> Fail:
    """The failure event a reaction emits when its step is refused or its handler fails for good: it starts
    the compensations exactly as the business failure would."""
    def fail(event: Message, reason: str, tx: Tx) -> list[Outgoing]:
        failures = [failure_of(r.command_for(event), reason) for r in reactions if r.applies_to(event)]
        return [Outgoing.of(f, "events", event_key(f)) for f in failures if f is not None]

    return fail


def build(settings: Settings, broker: Broker) -> ServiceHost:
    """A choreography service, ready to start."""
    subs = subscriptions(settings.service)
    db = Database(settings.database_path(), schema(settings.service))
    host = ServiceHost(settings.service, db, broker, subs, unsafe=settings.unsafe, faults=faults_of(settings.faults))
    if settings.service == "orders":
        deadline = float(settings.options.get("saga_deadline", order_service.DEFAULT_SAGA_DEADLINE_S))
        host.background = (lambda stopping: order_service.watch_deadlines(db, deadline, stopping),)
    return host


def queue_specs() -> list[QueueSpec]:
    """Every queue of this mode, for the runner to declare and the tap to name receivers by."""
    return [sub.queue for service in SERVICES for sub in subscriptions(service)]
