"""What a mode declares to the host: routes from message type to handler, the saga step each performs, and
when a committed delivery is acked."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.domain.contracts import Message, line_of
from shared.stores.sqlite import RefusalKind
from shared.transport.delivery import Delivery
from shared.transport.topology import QueueSpec
from shared.transport.wire import Outgoing


@dataclass
class Tx:
    """What a handler gets besides the message: the open local transaction and the delivery's addressing."""

    conn: sqlite3.Connection
    reply_to: str | None
    sender: str | None
    headers: Mapping[str, Any]
    notes: list[tuple[RefusalKind, str]] = field(default_factory=list)
    """Messages this delivery refused or ignored, counted in the run's result (``refusals`` table)."""

    def refused(self, reason: str) -> None:
        """Note that the message asked for a step this service will not take (a barrier, a tombstone)."""
        self.notes.append(("refused", reason))

    def ignored(self, reason: str) -> None:
        """Note that the message was answered, or dropped, with no effect (late, stray, already done)."""
        self.notes.append(("ignored", reason))


Handle = Callable[[Message, Tx], list[Outgoing]]
"""Runs inside the local transaction; returns what to send. Synchronous on purpose: no await can
interleave another delivery between the inbox check and the commit."""

Fail = Callable[[Message, str, Tx], list[Outgoing]]
"""Builds a step's failure outcome (``PaymentDeclined`` ...) for a message, with the reason it failed."""


class Acks(Protocol):
    """Settles a delivery whose local transaction has committed (the ack policy of a route)."""

    async def committed(self, delivery: Delivery, message: Message) -> None: ...


class AckAfterCommit:
    """The rule of every participant: the work committed, so the message may go (aio-pika's ``process``)."""

    async def committed(self, delivery: Delivery, message: Message) -> None:
        await delivery.ack()


ACK_AFTER_COMMIT: Acks = AckAfterCommit()


@dataclass(frozen=True)
class Step:
    """What a route does for an order, as the saga sees it (DESIGN.md, "Participant rules").

    Business key: the effect is keyed by (order, ``name``), so the same step under a new message id is
    answered with the first outcome (an event, which nobody awaits, is dropped) instead of being applied
    again. Barrier: a forward step names the compensation that undoes it (``undone_by``); once that
    compensation is recorded here, the forward step is refused with ``fail``, before the inbox could
    replay an answer given when the step still stood.
    """

    name: str
    undone_by: str | None = None
    fail: Fail | None = None
    """The step's failure event: sent when a forward step is refused, or when the handler fails for good (a
    compensation's failure lets the others go on, see ``shared/runtime/handlers.py``)."""

    line: Callable[[Message], int | None] | None = None
    """Which line of the order the message asks the step for (default: the message's own ``line``; None:
    the order as a whole)."""
    applies: Callable[[Message], bool] | None = None
    """Whether the message asks for the step at all (default: always). One that does not is acked with no
    effect, no business key and no barrier (choreography's per-line chain: Shipping waits for the last line)."""

    def key(self, message: Message) -> str | None:
        """The step as the business key records it: per line of the order when there is a line
        (``ReserveStock#2``), else the step's name; None when the message does not ask for this step."""
        if self.applies is not None and not self.applies(message):
            return None
        return self.name + self._line_suffix(message)

    def undo_key(self, message: Message) -> str | None:
        """The compensation that fences this step for the message's order (and line), as recorded."""
        if self.undone_by is None or self.key(message) is None:
            return None
        return self.undone_by + self._line_suffix(message)

    def _line_suffix(self, message: Message) -> str:
        line = self.line(message) if self.line is not None else line_of(message)
        return "" if line is None else f"#{line}"


@dataclass(frozen=True)
class Route:
    handle: Handle
    on_error: Callable[[Message, Exception, Tx], list[Outgoing]] | None = None
    """What to send when ``handle`` raises (orchestration replies TaskFailed); None requeues the message,
    and after the queue's last allowed attempt the step's failure outcome is sent (see ``Step.fail``)."""
    inbox: bool = True
    """Dedupe by the inbox; off only where redelivery must redo the work (Express executions)."""
    outbox: bool = True
    """Stage outgoing messages in the outbox; off only for state kept in memory (Express)."""
    step: Step | None = None
    """The saga step this route performs for the message's order: business key and barrier."""
    acks: Acks = ACK_AFTER_COMMIT
    """When the committed delivery is acked: at once, unless the mode says otherwise (Express, see
    ``orchestration/express_acks.py``)."""


@dataclass(frozen=True)
class Subscription:
    queue: QueueSpec
    routes: Mapping[type[Message], Route]
