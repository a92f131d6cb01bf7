"""The domain services, on their real SQLite repositories, without any broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.domain.contracts import (
    CancelShipment,
    ChargePayment,
    Order,
    OutOfStock,
    PaymentCharged,
    PaymentDeclined,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
    ShipmentFailed,
    ShipmentScheduled,
    StockReserved,
)
from shared.runtime.handlers import SCHEMAS, handle_command
from shared.stores.business import stock_up
from shared.stores.sqlite import Database

ORDER = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=2, amount_cents=4999,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


@pytest.fixture
def db(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    database = Database(tmp_path / "svc.db", "".join(SCHEMAS.values()))
    with database.transaction() as conn:
        stock_up(conn, {"KEYBOARD": 3})
    yield database
    database.close()


def run(db: Database, command):  # type: ignore[no-untyped-def]
    with db.transaction() as conn:
        return handle_command(command, conn)


def test_charge_then_refund(db: Database) -> None:
    """A good card is charged the order total; a refund returns that amount."""
    charged = run(db, ChargePayment(correlation_id="o-1", order=ORDER))
    assert isinstance(charged, PaymentCharged) and charged.amount_cents == 4999
    refunded = run(db, RefundPayment(correlation_id="o-1", order_id="o-1"))
    assert refunded.amount_cents == 4999


def test_declined_card_is_an_outcome_not_an_exception(db: Database) -> None:
    """A declined card returns PaymentDeclined with a reason and charges nothing."""
    order = ORDER.model_copy(update={"card_number": "4000000000000002"})
    outcome = run(db, ChargePayment(correlation_id="o-1", order=order))
    assert isinstance(outcome, PaymentDeclined) and "declined" in outcome.reason
    assert db.conn.execute("SELECT COUNT(*) FROM charges").fetchone()[0] == 0


def test_refund_before_charge_voids_the_order(db: Database) -> None:
    """A compensation that overtakes its step (refund before charge) refunds 0 and refuses the late charge."""
    assert run(db, RefundPayment(correlation_id="o-1", order_id="o-1")).amount_cents == 0
    late = run(db, ChargePayment(correlation_id="o-1", order=ORDER))
    assert isinstance(late, PaymentDeclined) and "cancelled" in late.reason


def test_reserve_until_out_of_stock_then_release(db: Database) -> None:
    """Stock is taken while it lasts; the next order is OutOfStock; releasing puts it back."""
    assert isinstance(run(db, ReserveStock(correlation_id="o-1", order=ORDER)), StockReserved)
    second = ORDER.model_copy(update={"order_id": "o-2"})
    out = run(db, ReserveStock(correlation_id="o-2", order=second))
    assert isinstance(out, OutOfStock) and "1 of KEYBOARD left" in out.reason
    assert run(db, ReleaseStock(correlation_id="o-1", order_id="o-1")).quantity == 2
    assert db.conn.execute("SELECT available FROM stock").fetchone()[0] == 3


def test_release_before_reserve_refuses_the_late_reservation(db: Database) -> None:
    """A release that arrives first leaves a mark, so the late reserve does not take stock."""
    assert run(db, ReleaseStock(correlation_id="o-1", order_id="o-1")).quantity == 0
    assert isinstance(run(db, ReserveStock(correlation_id="o-1", order=ORDER)), OutOfStock)
    assert db.conn.execute("SELECT available FROM stock").fetchone()[0] == 3


def test_shipping_fails_for_unserved_destinations_and_cancel_blocks_late_booking(db: Database) -> None:
    """Atlantis is unserved; a cancelled order cannot be booked afterwards."""
    far = ORDER.model_copy(update={"destination": "Atlantis"})
    assert isinstance(run(db, ScheduleShipment(correlation_id="o-1", order=far)), ShipmentFailed)
    assert not run(db, CancelShipment(correlation_id="o-2", order_id="o-2")).was_scheduled
    late = run(db, ScheduleShipment(correlation_id="o-2", order=ORDER.model_copy(update={"order_id": "o-2"})))
    assert isinstance(late, ShipmentFailed) and "cancelled" in late.reason
    assert isinstance(run(db, ScheduleShipment(correlation_id="o-3", order=ORDER.model_copy(
        update={"order_id": "o-3"}))), ShipmentScheduled)  # fmt: skip
