"""The choreographed saga, as a table: which event makes which service do what.

Read it top to bottom: that is the whole saga. Each reaction turns the event into the command the
domain service already understands, so both modes run the very same business code.

Compensations are chained, not fanned out: after a failed shipment Inventory releases the stock and
Payment refunds only on ``StockReleased``, the reverse of the forward order, as the orchestrator does.
The messages are the same as a fan-out would send; the refund lands one hop later, never before the release.

An order with several lines is reserved line by line, each line its own step: Inventory reserves the next
line on its own ``StockReserved`` and Shipping waits for the last one. When a line is out of stock the lines
before it are released one by one, the latest first, and Payment refunds once line 1 is released. The events
that only move this line chain along go out under a routing key of their own (``LINE_CHAIN``), so the others
never see them. A one-line order is reserved and released as a whole, exactly as before orders had lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.domain.contracts import (
    ChargePayment,
    Command,
    Event,
    OrderPlaced,
    OutOfStock,
    PaymentCharged,
    PaymentDeclined,
    PaymentRefunded,
    RefundFailed,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
    ShipmentFailed,
    ShipmentScheduled,
    StockReleased,
    StockReleaseFailed,
    StockReserved,
    has_field,
    line_of,
    routing_key,
)

LINE_CHAIN = "line"
"""The last word of the routing key of an event that only moves an order's line chain along (see
``moves_line_chain``): Inventory binds to it; Payment and Shipping, which wait for the order as a whole, never
see such an event, so a one-line order costs not one delivery more than before orders had lines."""


def moves_line_chain(event: Any) -> bool:
    """Whether the event is Inventory's own business in a multi-line order: a line reserved with more to go (the
    next is reserved), or a line out of stock, released or failed to release with lines before it (the line
    before is released next)."""
    line = line_of(event)
    if line is None:
        return False
    if isinstance(event, StockReserved):
        return bool(line + 1 < len(event.order.lines))
    return bool(line > 0)


def event_key(event: Event) -> str:
    """The routing key a choreographed event is published under."""
    key = routing_key(event)
    return f"{key}.{LINE_CHAIN}" if moves_line_chain(event) else key


def event_keys(cls: type[Event]) -> tuple[str, ...]:
    """Every routing key an event of this type may go out under (documents and graphs match bindings with them)."""
    key = routing_key(cls)
    return (key, f"{key}.{LINE_CHAIN}") if "line" in cls.model_fields else (key,)


def _no_line(event: Any) -> int | None:
    return None


@dataclass(frozen=True)
class Reaction:
    service: str
    when: type[Event]
    does: type[Command]
    line: Callable[[Any], int | None] = _no_line
    """The line of the order the command is for (None: the order as a whole)."""
    chain: bool = False
    """The reaction moves a multi-line order's line chain along: it takes the events that do (their routing key
    ends in ``.line``), and only those; the others take the events that do not."""

    def binding_key(self) -> str:
        key = routing_key(self.when)
        return f"{key}.{LINE_CHAIN}" if self.chain else key

    def applies_to(self, event: Any) -> bool:
        """Whether the event asks for this reaction (the binding already made sure; this is the check)."""
        return moves_line_chain(event) == self.chain

    def command_for(self, event: Any) -> Command:
        """The command this event asks of the service; it keeps the event's envelope, so whatever the
        service emits is caused by the event itself."""
        kind: type[Event] = type(event)
        order_id = event.order.order_id if has_field(kind, "order") else event.order_id
        fields = {"order": event.order} if has_field(self.does, "order") else {"order_id": order_id}
        if has_field(self.does, "line"):
            fields["line"] = self.line(event)
        return self.does(
            message_id=event.message_id,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            **fields,
        )


# --- which line a command is for: a one-line order has no line numbers (None) and goes as a whole -----------


def first_line(event: Any) -> int | None:
    return 0 if len(event.order.lines) > 1 else None


def last_line(event: Any) -> int | None:
    return len(event.order.lines) - 1 if len(event.order.lines) > 1 else None


def next_line(event: Any) -> int:
    return int(event.line) + 1


def line_before(event: Any) -> int:
    return int(event.line) - 1


REACTIONS: tuple[Reaction, ...] = (
    #        service      when this happens   the service does this   (for which line; on the line chain)
    Reaction("payment",   OrderPlaced,        ChargePayment),
    Reaction("inventory", PaymentCharged,     ReserveStock,      first_line),
    Reaction("shipping",  StockReserved,      ScheduleShipment),  # the whole order, or its last line
    Reaction("inventory", StockReserved,      ReserveStock,      next_line, chain=True),
    # compensations: undo what already succeeded, the latest step first
    Reaction("payment",   OutOfStock,         RefundPayment),  # nothing reserved before it
    Reaction("inventory", OutOfStock,         ReleaseStock,      line_before, chain=True),
    Reaction("inventory", ShipmentFailed,     ReleaseStock,      last_line),
    Reaction("payment",   StockReleased,      RefundPayment),  # the refund waits for the (first line's) release
    Reaction("inventory", StockReleased,      ReleaseStock,      line_before, chain=True),
    Reaction("payment",   StockReleaseFailed, RefundPayment),  # a release failed for good: the others go on
    Reaction("inventory", StockReleaseFailed, ReleaseStock,      line_before, chain=True),
)  # fmt: skip


@dataclass(frozen=True)
class Ending:
    """How the order service reads a saga's end from the events it sees."""

    status: str
    once_seen: frozenset[type[Event]] = frozenset()

    @classmethod
    def after(cls, status: str, *events: type[Event]) -> Ending:
        return cls(status, frozenset(events))


ENDINGS: dict[type[Event], Ending] = {
    ShipmentScheduled: Ending("completed"),
    PaymentDeclined:   Ending("compensated"),  # nothing succeeded, nothing to undo
    OutOfStock:        Ending.after("compensated", PaymentRefunded),
    ShipmentFailed:    Ending.after("compensated", PaymentRefunded, StockReleased),
    # a compensation that failed for good parks the order for a person, once the others have run
    StockReleaseFailed: Ending.after("needs-attention", PaymentRefunded),
    RefundFailed:       Ending("needs-attention"),
}  # fmt: skip


def reactions_of(service: str) -> list[Reaction]:
    return [r for r in REACTIONS if r.service == service]


def watched_events() -> set[type[Event]]:
    """Every event the order service needs to see to know how each saga ended."""
    return set(ENDINGS) | {e for ending in ENDINGS.values() for e in ending.once_seen}
