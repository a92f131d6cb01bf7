"""The choreographed saga, as a table: which event makes which service do what.

Read it top to bottom: that is the whole saga. Each reaction turns the event into the command the
domain service already understands, so both modes run the very same business code.

Compensations are chained, not fanned out: after a failed shipment Inventory releases the stock and
Payment refunds only on ``StockReleased``, the reverse of the forward order, as the orchestrator does.
The messages are the same as a fan-out would send; the refund lands one hop later, never before the release.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Reaction:
    service: str
    when: type[Event]
    does: type[Command]

    def command_for(self, event: Any) -> Command:
        """The command this event asks of the service; it keeps the event's envelope, so whatever the
        service emits is caused by the event itself."""
        order_id = event.order.order_id if hasattr(event, "order") else event.order_id
        fields = {"order": event.order} if "order" in self.does.model_fields else {"order_id": order_id}
        return self.does(
            message_id=event.message_id,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            **fields,
        )


REACTIONS: tuple[Reaction, ...] = (
    #        service      when this happens   the service does this
    Reaction("payment",   OrderPlaced,        ChargePayment),
    Reaction("inventory", PaymentCharged,     ReserveStock),
    Reaction("shipping",  StockReserved,      ScheduleShipment),
    # compensations: undo what already succeeded, the latest step first
    Reaction("payment",   OutOfStock,         RefundPayment),
    Reaction("inventory", ShipmentFailed,     ReleaseStock),
    Reaction("payment",   StockReleased,      RefundPayment),  # the refund waits for the release: reverse order
    Reaction("payment",   StockReleaseFailed, RefundPayment),  # the release failed for good: refund anyway
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
