"""The domain calls both modes make, bound to each service's own SQLite repositories.

Choreography reaches these from events, orchestration from commands; the business logic underneath
(``shared.domain.services``) is the same code either way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from shared.domain.contracts import (
    CancelShipment,
    ChargePayment,
    Command,
    Event,
    Failure,
    OutOfStock,
    PaymentDeclined,
    RefundFailed,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
    ShipmentFailed,
    StockReleaseFailed,
)
from shared.domain.services.inventory import release_stock, reserve_stock
from shared.domain.services.payment import charge_payment, refund_payment
from shared.domain.services.shipping import cancel_shipment, schedule_shipment
from shared.runtime.routes import Fail, Step
from shared.stores.business import (
    INVENTORY_SCHEMA,
    PAYMENT_SCHEMA,
    SHIPPING_SCHEMA,
    SqlitePaymentLedger,
    SqliteShipmentRepository,
    SqliteStockRepository,
)

DOMAIN_SERVICES = ("payment", "inventory", "shipping")

SCHEMAS = {"payment": PAYMENT_SCHEMA, "inventory": INVENTORY_SCHEMA, "shipping": SHIPPING_SCHEMA}

CommandHandler = Callable[[Any, sqlite3.Connection], Event]

COMMAND_HANDLERS: dict[type[Command], CommandHandler] = {
    ChargePayment: lambda cmd, conn: charge_payment(cmd, SqlitePaymentLedger(conn)),
    RefundPayment: lambda cmd, conn: refund_payment(cmd, SqlitePaymentLedger(conn)),
    ReserveStock: lambda cmd, conn: reserve_stock(cmd, SqliteStockRepository(conn)),
    ReleaseStock: lambda cmd, conn: release_stock(cmd, SqliteStockRepository(conn)),
    ScheduleShipment: lambda cmd, conn: schedule_shipment(cmd, SqliteShipmentRepository(conn)),
    CancelShipment: lambda cmd, conn: cancel_shipment(cmd, SqliteShipmentRepository(conn)),
}


def commands_of(service: str) -> list[type[Command]]:
    """The commands a domain service accepts."""
    return [cls for cls in COMMAND_HANDLERS if cls.owner == service]


def handle_command(cmd: Command, conn: sqlite3.Connection) -> Event:
    return COMMAND_HANDLERS[type(cmd)](cmd, conn)


UNDONE_BY: dict[type[Command], type[Command]] = {
    ChargePayment: RefundPayment,
    ReserveStock: ReleaseStock,
    ScheduleShipment: CancelShipment,
}
"""Each forward step and the compensation that undoes it: once the compensation is recorded for an order,
the forward step is refused (the barrier)."""

FAILS_AS: dict[type[Command], type[Failure]] = {
    ChargePayment: PaymentDeclined,
    ReserveStock: OutOfStock,
    ScheduleShipment: ShipmentFailed,
    RefundPayment: RefundFailed,
    ReleaseStock: StockReleaseFailed,
}
"""The failure event each step ends in when it is refused or its handler fails for good: a forward step's
business failure, or a compensation's "failed for good" (the remaining compensations still run)."""


def failure_of(cmd: Command, reason: str) -> Failure | None:
    """The failure event of a step, caused by its command (None for a step that has none)."""
    cls = FAILS_AS.get(type(cmd))
    if cls is None:
        return None
    fields = {"order": cmd.order} if "order" in cls.model_fields else {"order_id": cmd.order_id}  # type: ignore[attr-defined]
    if "line" in cls.model_fields:
        fields["line"] = getattr(cmd, "line", None)
    return cmd.caused(cls, reason=reason, **fields)


def step_of(command: type[Command], fail: Fail) -> Step:
    """The saga step a command performs: keyed by its name and failing with ``fail``; a forward step is also
    fenced by its compensation (the barrier)."""
    undo = UNDONE_BY.get(command)
    return Step(command.__name__, undone_by=undo.__name__ if undo else None, fail=fail)
