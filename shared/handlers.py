"""The domain calls both modes make, bound to each service's own SQLite repositories.

Choreography reaches these from events, orchestration from commands; the business logic underneath
(``shared.services``) is the same code either way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from shared.contracts import (
    CancelShipment,
    ChargePayment,
    Command,
    Event,
    Failure,
    OutOfStock,
    PaymentDeclined,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
    ShipmentFailed,
)
from shared.runtime.host import Fail, Step
from shared.services.inventory import release_stock, reserve_stock
from shared.services.payment import charge_payment, refund_payment
from shared.services.shipping import cancel_shipment, schedule_shipment
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
}
"""The business failure each forward step ends in when it is refused or cannot be done at all."""


def failure_of(cmd: Command, reason: str) -> Failure | None:
    """The failure event of a forward command, caused by it (None for a compensation: it has none)."""
    cls = FAILS_AS.get(type(cmd))
    return None if cls is None else cmd.caused(cls, order=cmd.order, reason=reason)  # type: ignore[attr-defined]


def step_of(command: type[Command], fail: Fail) -> Step:
    """The saga step a command performs: keyed by its name, and for a forward step, fenced by its
    compensation and failing with ``fail``."""
    undo = UNDONE_BY.get(command)
    if undo is None:
        return Step(command.__name__)
    return Step(command.__name__, undone_by=undo.__name__, fail=fail)
