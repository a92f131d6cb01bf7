"""The stores' read side: typed rows from databases made by the stores' own schemas, read-only, and a
loud StoreSchemaError (never "no rows") when a file, table or column the lab reads is missing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from choreography.order_service import ORDER_SERVICE_SCHEMA, Alert, read_alerts
from orchestration.histories import find_history
from orchestration.store import ORCHESTRATOR_SCHEMA
from scenarios.oracle import judge
from scenarios.settle import wait_settled
from shared.domain.contracts import Order
from shared.domain.services.inventory import Reservation
from shared.domain.services.payment import Charge
from shared.domain.services.shipping import Shipment
from shared.stores.business import (
    INVENTORY_SCHEMA,
    PAYMENT_SCHEMA,
    SHIPPING_SCHEMA,
    Money,
    PaymentLedgerView,
    ReservationRow,
    ShipmentRow,
    ShipmentsView,
    SqlitePaymentLedger,
    SqliteShipmentRepository,
    SqliteStockRepository,
    StockLevel,
    StockView,
    stock_up,
)
from shared.stores.orders import ORDERS_SCHEMA, OrdersView, record_placed, settle
from shared.stores.read import ReadOnly, StoreSchemaError, read_only, snapshot
from shared.stores.sqlite import Database, Refusal, ServiceView
from shared.transport.wire import Outgoing

ORDER = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=500,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


def _world(tmp_path: Path) -> Path:
    """A completed order in databases made by the services' own schemas and repositories."""
    with Database(tmp_path / "payment.db", PAYMENT_SCHEMA).transaction() as conn:
        SqlitePaymentLedger(conn).record_charge("o-1", Charge("p-1", 500))
    with Database(tmp_path / "inventory.db", INVENTORY_SCHEMA).transaction() as conn:
        stock_up(conn, {"KEYBOARD": 10})
        repo = SqliteStockRepository(conn)
        repo.adjust_available("KEYBOARD", -1)
        repo.save_reservation("o-1", 0, Reservation("KEYBOARD", 1, "reserved"))
    with Database(tmp_path / "shipping.db", SHIPPING_SCHEMA).transaction() as conn:
        SqliteShipmentRepository(conn).save_shipment("o-1", Shipment("s-1", "scheduled"))
    orders = Database(tmp_path / "orders.db", ORDERS_SCHEMA)
    with orders.transaction() as conn:
        record_placed(conn, ORDER)
        settle(conn, "o-1", "completed")
    return tmp_path / "orders.db"


def _alter(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
    conn.close()


def test_the_views_read_typed_rows_from_databases_made_by_the_stores_schemas(tmp_path: Path) -> None:
    """Every view returns what the services' own repositories wrote, as dataclasses."""
    coordinator = _world(tmp_path)
    with Database(tmp_path / "payment.db", PAYMENT_SCHEMA).transaction() as conn:
        SqlitePaymentLedger(conn).record_refund("o-1", 200)
    with read_only(tmp_path / "payment.db") as db:
        assert PaymentLedgerView(db).charges() == [Money("o-1", 500)]
        assert PaymentLedgerView(db).refunds() == [Money("o-1", 200)]
    with read_only(tmp_path / "inventory.db") as db:
        assert StockView(db).levels() == [StockLevel("KEYBOARD", 10, 9)]
        assert StockView(db).reservations() == [ReservationRow("o-1", 0, "KEYBOARD", 1, "reserved")]
    with read_only(tmp_path / "shipping.db") as db:
        assert ShipmentsView(db).shipments() == [ShipmentRow("o-1", "scheduled")]
    with read_only(coordinator) as db:
        orders = OrdersView(db)
        assert orders.statuses() == {"o-1": "completed"}
        assert orders.records()["o-1"].status == "completed"
        (settled,) = orders.settled_at().values()
        assert orders.settled_since(settled) == [("o-1", settled)] and orders.settled_since(settled + 1) == []


def test_the_service_view_reads_refusals_the_outbox_and_the_inbox(tmp_path: Path) -> None:
    """Refusals, staged messages by type and handled messages, from the tables every service shares."""
    db = Database(tmp_path / "payment.db", PAYMENT_SCHEMA)
    with db.transaction() as conn:
        Database.note_refusal(conn, "payment", "m-1", "refused", "o-1", "compensated already")
        Database.remember(conn, "payment", "m-2")
        Database.stage(conn, "m-2", [Outgoing("events", "k", "PaymentCharged", "m-3", "o-1", b"{}")])
    with read_only(tmp_path / "payment.db") as reader:
        view = ServiceView(reader)
        assert view.refusals() == [Refusal("refused", "o-1", "compensated already")]
        assert view.staged_by_type() == {"PaymentCharged": 1}
        assert view.handled() == 1


def test_the_order_services_alerts_are_read_beside_its_schema(tmp_path: Path) -> None:
    """The deadline watcher's alerts, oldest first."""
    with Database(tmp_path / "orders.db", ORDER_SERVICE_SCHEMA).transaction() as conn:
        conn.execute("INSERT INTO alerts VALUES ('o-2', 'stalled', 'late', 2.0), ('o-1', 'stalled', 'late', 1.0)")
    with read_only(tmp_path / "orders.db") as db:
        assert read_alerts(db) == [Alert("o-1", "stalled", "late", 1.0), Alert("o-2", "stalled", "late", 2.0)]


def test_a_reader_cannot_write(tmp_path: Path) -> None:
    """The lab's reads open the file read-only: a service's data cannot be changed by judging it."""
    _world(tmp_path)
    with read_only(tmp_path / "payment.db") as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.conn.execute("DELETE FROM charges")


def test_a_renamed_column_makes_the_oracle_fail_loudly(tmp_path: Path) -> None:
    """A charges table whose amount column was renamed must not read as an empty ledger judged 'ok'."""
    coordinator = _world(tmp_path)
    assert judge(tmp_path, coordinator, [ORDER]).ok
    _alter(tmp_path / "payment.db", "ALTER TABLE charges RENAME COLUMN amount_cents TO amount")
    with pytest.raises(StoreSchemaError, match="payment.db has no column amount_cents"):
        judge(tmp_path, coordinator, [ORDER])


def test_a_missing_table_makes_the_oracle_fail_loudly(tmp_path: Path) -> None:
    """No shipments table is an error naming the file and the table, not 'nothing was shipped'."""
    coordinator = _world(tmp_path)
    _alter(tmp_path / "shipping.db", "DROP TABLE shipments")
    with pytest.raises(StoreSchemaError, match=r"shipping.db has no table shipments \(is this a sagalab shipping"):
        judge(tmp_path, coordinator, [ORDER])


def test_a_missing_database_makes_the_oracle_fail_loudly(tmp_path: Path) -> None:
    """A service database that is not there at all is an error too."""
    coordinator = _world(tmp_path)
    (tmp_path / "inventory.db").unlink()
    with pytest.raises(StoreSchemaError, match="inventory.db does not exist"):
        judge(tmp_path, coordinator, [ORDER])


def test_a_coordinator_without_its_orders_table_fails_loudly(tmp_path: Path) -> None:
    """The coordinator's orders table renamed: the oracle and settle say so instead of 'every order stuck'."""
    coordinator = _world(tmp_path)
    _alter(coordinator, "ALTER TABLE orders RENAME TO orders_old")
    with pytest.raises(StoreSchemaError, match="orders.db has no table orders"):
        judge(tmp_path, coordinator, [ORDER])


async def test_settle_fails_loudly_on_a_coordinator_without_its_orders_table(tmp_path: Path) -> None:
    """Waiting for sagas to settle on a database without the orders table raises at once, not at the deadline."""
    coordinator = _world(tmp_path)
    _alter(coordinator, "ALTER TABLE orders RENAME COLUMN status TO state")
    with pytest.raises(StoreSchemaError, match="no column status"):
        await wait_settled(coordinator, ["o-1"], deadline_s=60)


def test_a_history_finder_given_a_database_that_is_not_an_orchestrators_fails_loudly(tmp_path: Path) -> None:
    """A run folder without an orchestrator database is passed over; a file lacking its tables is an error."""
    Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA).close()
    assert find_history("o-1", [tmp_path / "elsewhere", tmp_path]) is None
    _alter(tmp_path / "orchestrator.db", "DROP TABLE history")
    with pytest.raises(StoreSchemaError, match="no such table: history"):
        find_history("o-1", [tmp_path])


def test_a_snapshot_copies_a_live_database_and_needs_it_to_exist(tmp_path: Path) -> None:
    """The attached runner's snapshot reads the copy like the original; a missing source is an error."""
    _world(tmp_path)
    snapshot(tmp_path / "payment.db", tmp_path / "copy.db")
    with read_only(tmp_path / "copy.db", "payment") as db:
        assert PaymentLedgerView(db).charges() == [Money("o-1", 500)]
    with pytest.raises(StoreSchemaError, match="does not exist"):
        ReadOnly(tmp_path / "absent.db")
