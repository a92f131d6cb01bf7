"""Folding the messages a tap sees into the state of each saga, with no broker: what ``sagalab watch`` shows.

Each message changes one order's state: which mode runs it (commands and replies mean an orchestrator, saga
events on the events exchange mean choreography), the step it is at, what it waits for (a command sent and its
reply awaited, or an event a service is to react to), the steps done and undone, the compensations running, and
at the end completed, compensated or parked (a compensation that failed for good: the step stays done).

The vocabulary is the checkout saga's: each step's command, the event that says it was done, the one that says it
failed, and the command and events that undo it. Pending work in choreography comes from its own reaction table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from choreography.reactions import LINE_CHAIN, REACTIONS, Reaction
from shared.transport.dead_letter import reason_of
from shared.transport.observed import Observed
from shared.transport.topology import Topology

Status = Literal["placed", "running", "compensating", "completed", "compensated", "parked"]
FINAL: frozenset[str] = frozenset({"completed", "compensated", "parked"})


@dataclass(frozen=True)
class Step:
    """One step of the checkout saga in messages: how it is asked, done, failed, and undone."""

    command: str
    done: str
    failed: str
    undo: str
    undone: str
    undo_failed: str | None = None


STEPS = (
    Step("ChargePayment", "PaymentCharged", "PaymentDeclined", "RefundPayment", "PaymentRefunded", "RefundFailed"),
    Step("ReserveStock", "StockReserved", "OutOfStock", "ReleaseStock", "StockReleased", "StockReleaseFailed"),
    Step("ScheduleShipment", "ShipmentScheduled", "ShipmentFailed", "CancelShipment", "ShipmentCancelled"),
)
LAST_STEP = STEPS[-1].command
_DONE = {s.done: s.command for s in STEPS}
_FAILED = {s.failed: s.command for s in STEPS}
_UNDO = {s.undo: s.command for s in STEPS}
_UNDONE = {s.undone: s.command for s in STEPS}
_UNDO_FAILED = {s.undo_failed: s.command for s in STEPS if s.undo_failed}
_REACTS: dict[str, list[Reaction]] = {}
for _r in REACTIONS:
    _REACTS.setdefault(_r.when.__name__, []).append(_r)
MARKER_TYPE = "sagalab.TapMarker"


@dataclass
class Saga:
    """One order's saga as the messages tell it so far (the JSON stream's object, with ``event: "saga"``)."""

    order_id: str
    mode: str | None = None
    status: Status = "placed"
    step: str | None = None
    """The step in hand: the command last sent, or the one the last event asks a service for."""
    pending: str | None = None
    """What it waits for: ``ChargePayment -> payment`` (a command, its reply awaited) or
    ``payment: ChargePayment on OrderPlaced`` (a service to react to an event)."""
    done: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    compensating: list[str] = field(default_factory=list)
    """Compensations asked for and not yet answered."""
    failure: str | None = None
    """The event (or error reply) that turned the saga back, if one did."""
    parked: str | None = None
    """Why it needs a person: the steps a compensation could not undo."""
    messages: int = 0
    retries: int = 0
    dead_lettered: int = 0
    last: str | None = None
    updated_at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"event": "saga", **asdict(self)}

    @property
    def finished(self) -> bool:
        return self.status in FINAL


@dataclass
class Fold:
    """Every order's saga in a namespace, changed one message at a time."""

    topology: Topology
    sagas: dict[str, Saga] = field(default_factory=dict)
    _undo_asked: dict[str, set[str]] = field(default_factory=dict)
    _awaiting: dict[str, str] = field(default_factory=dict)
    """Per order, the message id of the command whose reply the orchestrator awaits."""

    def apply(self, seen: Observed, now: float | None = None) -> Saga | None:
        """Fold one message in; the saga it changed (None for a message of no order: poison, the tap's marker)."""
        order_id = seen.correlation_id
        if not order_id or seen.type == MARKER_TYPE:
            return None
        saga = self.sagas.setdefault(order_id, Saga(order_id))
        saga.messages += 1
        saga.updated_at = now if now is not None else time.time()
        type_name = seen.type or "?"
        if seen.exchange == self.topology.dead_letter_exchange:
            saga.dead_lettered += 1
            saga.last = f"{type_name} dead-lettered: {reason_of(seen.headers)}"
            return saga
        saga.last = type_name
        kind = self._kind(seen.exchange)
        if saga.mode is None and type_name != "PlaceOrder":
            saga.mode = "orchestration" if kind in ("commands", "replies") else "choreography"
        if saga.finished:
            return saga  # a late or repeated message does not reopen a saga that ended
        if type_name == "PlaceOrder":
            saga.pending = f"PlaceOrder -> {seen.routing_key.split('.')[0]}"
        elif kind == "commands":
            self._command(saga, seen)
        elif kind == "replies":
            self._reply(saga, type_name, _causation(seen))
        else:
            self._event(saga, type_name, seen)
        self._conclude(saga)
        return saga

    def _kind(self, exchange: str) -> str:
        return next((k for k in ("events", "commands", "replies") if self.topology.exchange(k) == exchange), "events")  # type: ignore[arg-type]

    def _command(self, saga: Saga, seen: Observed) -> None:
        """An orchestrator asks a participant for a step (or its undo) and awaits the reply."""
        type_name = seen.type or "?"
        participant = seen.routing_key.split(".")[0]
        saga.step = str(seen.headers.get("x-state") or type_name)
        saga.pending = f"{type_name} -> {participant}"
        self._awaiting[saga.order_id] = seen.message_id or ""
        if seen.headers.get("x-attempt"):
            saga.retries += 1
        if type_name in _UNDO:
            self._undo_asked.setdefault(saga.order_id, set()).add(_UNDO[type_name])
            _add(saga.compensating, type_name)
            saga.status = "compensating"
        elif saga.status == "placed":
            saga.status = "running"

    def _reply(self, saga: Saga, type_name: str, causation_id: str | None) -> None:
        """A participant answers: the orchestrator decides what follows (an error reply may be retried). Only the
        answer to the command in hand counts; a late or repeated one (an outbox re-send) changes nothing."""
        if causation_id != self._awaiting.get(saga.order_id):
            return
        saga.pending = None
        self._outcome(saga, type_name)

    def _event(self, saga: Saga, type_name: str, seen: Observed) -> None:
        """A choreographed event: record what it says, then what it asks of which service."""
        saga.pending = None
        self._outcome(saga, type_name)
        if (reaction := _reaction_to(type_name, seen)) is not None:
            command = reaction.does.__name__
            saga.step = command
            saga.pending = f"{reaction.service}: {command} on {type_name}"
            if command in _UNDO:
                self._undo_asked.setdefault(saga.order_id, set()).add(_UNDO[command])
                _add(saga.compensating, command)
        if saga.status == "placed":
            saga.status = "running"

    def _outcome(self, saga: Saga, type_name: str) -> None:
        if type_name in _DONE:
            _add(saga.done, _DONE[type_name])
        elif type_name in _FAILED:
            saga.failure = type_name
            saga.status = "compensating"
        elif type_name in _UNDONE:
            step = _UNDONE[type_name]
            _add(saga.undone, step)
            _discard(saga.compensating, next(s.undo for s in STEPS if s.command == step))
            saga.status = "compensating"
        elif type_name in _UNDO_FAILED:
            step = _UNDO_FAILED[type_name]
            _discard(saga.compensating, next(s.undo for s in STEPS if s.command == step))
            saga.parked = f"{next(s.undo for s in STEPS if s.command == step)} failed"
            saga.status = "compensating"

    def _conclude(self, saga: Saga) -> None:
        """The saga ended when nothing is pending and either the last step was done with no failure, or every
        step done was undone (compensated) or had its undo tried and not answered as done (parked)."""
        if saga.pending is not None:
            return
        if saga.status == "running" and LAST_STEP in saga.done:
            saga.status, saga.step = "completed", None
            return
        if saga.status != "compensating":
            return
        left = [s for s in saga.done if s not in saga.undone]
        if not left:
            saga.status, saga.step, saga.compensating = "compensated", None, []
        elif all(s in self._undo_asked.get(saga.order_id, set()) for s in left):
            saga.status, saga.step, saga.compensating = "parked", None, []
            saga.parked = saga.parked or f"not undone: {', '.join(left)}"


def _reaction_to(type_name: str, seen: Observed) -> Reaction | None:
    """The reaction the event asks for: with several for one event type (an order's lines), the one its routing
    key is for (the line chain's own, or the others')."""
    on_chain = seen.routing_key.endswith(f".{LINE_CHAIN}")
    return next((r for r in _REACTS.get(type_name, []) if r.chain == on_chain), None)


def _causation(seen: Observed) -> str | None:
    try:
        cause = json.loads(seen.body).get("causation_id")
    except (ValueError, AttributeError):
        return None
    return cause if isinstance(cause, str) else None


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _discard(items: list[str], item: str) -> None:
    if item in items:
        items.remove(item)


def fold_all(topology: Topology, messages: Iterable[Observed]) -> Fold:
    """Fold a run's messages in one go (tests and replays)."""
    fold = Fold(topology)
    for seen in messages:
        fold.apply(seen)
    return fold
