"""The choreographed saga, as a table: which event makes which service do what.

Read it top to bottom: that is the whole saga. Each reaction turns the event into the command the
domain service already understands, so both modes run the very same business code.

Compensations are chained, not fanned out: after a failed shipment Inventory releases the stock and
Payment refunds only on ``StockReleased``, the reverse of the forward order, as the orchestrator does.
The messages are the same as a fan-out would send; the refund lands one hop later, never before the release.

An order with several lines is reserved line by line, each line its own step: Inventory reserves the next
line on its own ``StockReserved`` and Shipping waits for the last one. When a line is out of stock the lines
before it are released one by one, the latest first, and Payment refunds once line 1 is released. A one-line
order is reserved and released as a whole, as before.
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
)


def _always(event: Any) -> bool:
    return True


def _no_line(event: Any) -> int | None:
    return None


@dataclass(frozen=True)
class Reaction:
    service: str
    when: type[Event]
    does: type[Command]
    only_if: Callable[[Any], bool] = _always
    """Whether this event asks for the reaction at all (the per-line chain: see the module's docstring). Where
    an event has several reactions, the first listed is what a one-line order does."""
    line: Callable[[Any], int | None] = _no_line
    """The line of the order the command is for (None: the order as a whole)."""

    def command_for(self, event: Any) -> Command:
        """The command this event asks of the service; it keeps the event's envelope, so whatever the
        service emits is caused by the event itself."""
        order_id = event.order.order_id if hasattr(event, "order") else event.order_id
        fields = {"order": event.order} if "order" in self.does.model_fields else {"order_id": order_id}
        if "line" in self.does.model_fields:
            fields["line"] = self.line(event)
        return self.does(
            message_id=event.message_id,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            **fields,
        )


# --- the per-line chain: a one-line order has no line numbers (``line`` None) and goes as a whole ----------

def first_line(event: Any) -> int | None:
    return 0 if len(event.order.lines) > 1 else None


def last_line(event: Any) -> int | None:
    return len(event.order.lines) - 1 if len(event.order.lines) > 1 else None


def next_line(event: Any) -> int:
    return int(event.line) + 1


def line_before(event: Any) -> int:
    return int(event.line) - 1


def more_lines_to_reserve(event: Any) -> bool:
    return event.line is not None and event.line + 1 < len(event.order.lines)


def every_line_reserved(event: Any) -> bool:
    return event.line is None or event.line + 1 == len(event.order.lines)


def lines_before(event: Any) -> bool:
    """Lines before this one hold stock that must go back first."""
    return event.line is not None and event.line > 0


def no_lines_before(event: Any) -> bool:
    return not lines_before(event)


REACTIONS: tuple[Reaction, ...] = (
    #        service      when this happens   the service does this   (only if, for which line)
    Reaction("payment",   OrderPlaced,        ChargePayment),
    Reaction("inventory", PaymentCharged,     ReserveStock,      line=first_line),
    Reaction("shipping",  StockReserved,      ScheduleShipment,  every_line_reserved),
    Reaction("inventory", StockReserved,      ReserveStock,      more_lines_to_reserve, next_line),
    # compensations: undo what already succeeded, the latest step first
    Reaction("payment",   OutOfStock,         RefundPayment,     no_lines_before),
    Reaction("inventory", OutOfStock,         ReleaseStock,      lines_before, line_before),
    Reaction("inventory", ShipmentFailed,     ReleaseStock,      line=last_line),
    Reaction("payment",   StockReleased,      RefundPayment,     no_lines_before),  # the refund waits for the release
    Reaction("inventory", StockReleased,      ReleaseStock,      lines_before, line_before),
    Reaction("payment",   StockReleaseFailed, RefundPayment,     no_lines_before),  # failed for good: the others go on
    Reaction("inventory", StockReleaseFailed, ReleaseStock,      lines_before, line_before),
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
