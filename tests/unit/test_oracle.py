"""The consistency oracle, fed hand-made service databases."""

from __future__ import annotations

from pathlib import Path

from scenarios.oracle import judge
from shared.domain.contracts import Order
from shared.runtime.handlers import SCHEMAS
from shared.stores.business import stock_up
from shared.stores.orders import ORDERS_SCHEMA, record_placed, settle
from shared.stores.sqlite import Database

ORDER = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=500,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


def _world(tmp_path: Path, status: str | None, charges: list[int] = (), refunds: list[int] = (),  # type: ignore[assignment]
           reservation: str | None = None, shipment: str | None = None, available: int = 10) -> Path:
    dbs = {name: Database(tmp_path / f"{name}.db", SCHEMAS[name]) for name in SCHEMAS}
    orders = Database(tmp_path / "orders.db", ORDERS_SCHEMA)
    with orders.transaction() as conn:
        record_placed(conn, ORDER)
        if status:
            settle(conn, ORDER.order_id, status)  # type: ignore[arg-type]
    with dbs["payment"].transaction() as conn:
        for i, c in enumerate(charges):
            conn.execute("INSERT INTO charges VALUES (?, 'o-1', ?, 0)", (f"p{i}", c))
        for r in refunds:
            conn.execute("INSERT INTO refunds (order_id, amount_cents, at) VALUES ('o-1', ?, 0)", (r,))
    with dbs["inventory"].transaction() as conn:
        stock_up(conn, {"KEYBOARD": 10})
        conn.execute("UPDATE stock SET available = ?", (available,))
        if reservation:
            conn.execute("INSERT INTO reservation_lines VALUES ('o-1', 0, 'KEYBOARD', 1, ?, 0)", (reservation,))
    with dbs["shipping"].transaction() as conn:
        if shipment:
            conn.execute("INSERT INTO shipments VALUES ('o-1', 's1', ?, 0)", (shipment,))
    return tmp_path / "orders.db"


def test_a_completed_order_with_every_effect_is_completed(tmp_path: Path) -> None:
    """Charged the total, one unit reserved, shipment booked: completed, no violation."""
    coord = _world(tmp_path, "completed", charges=[500], reservation="reserved", shipment="scheduled", available=9)
    verdict = judge(tmp_path, coord, [ORDER])
    assert verdict.outcomes == {"o-1": "completed"} and verdict.ok


def test_a_compensated_order_with_everything_undone_is_compensated(tmp_path: Path) -> None:
    """Charged then refunded, stock released: compensated."""
    coord = _world(tmp_path, "compensated", charges=[500], refunds=[500], reservation="released")
    verdict = judge(tmp_path, coord, [ORDER])
    assert verdict.outcomes == {"o-1": "compensated"} and verdict.ok


def test_a_double_refund_is_named(tmp_path: Path) -> None:
    """Refunds beyond the charge break the money rules and make the order inconsistent."""
    coord = _world(tmp_path, "compensated", charges=[500], refunds=[500, 500])
    verdict = judge(tmp_path, coord, [ORDER])
    assert verdict.outcomes == {"o-1": "inconsistent"}
    assert {v.rule for v in verdict.violations} == {"money.refund-exceeds-charge", "money.net"}


def test_a_double_charge_and_left_behind_stock_are_named(tmp_path: Path) -> None:
    """Two charges, and a reservation a compensated order left behind."""
    coord = _world(tmp_path, "compensated", charges=[500, 500], refunds=[500], reservation="reserved", available=9)
    rules = {v.rule for v in judge(tmp_path, coord, [ORDER]).violations}
    assert {"money.single-charge", "stock.left-behind", "money.net"} <= rules


def test_stock_that_vanished_breaks_conservation(tmp_path: Path) -> None:
    """initial must equal available + reserved + shipped for every SKU."""
    coord = _world(tmp_path, "compensated", available=7)
    rules = {v.rule for v in judge(tmp_path, coord, [ORDER]).violations}
    assert rules == {"stock.conservation"}


def test_a_pending_or_missing_order_is_stuck(tmp_path: Path) -> None:
    """Not final when the run ends: stuck; never seen by the coordinator at all: stuck too."""
    coord = _world(tmp_path, None, charges=[500])
    lost = ORDER.model_copy(update={"order_id": "o-lost"})
    verdict = judge(tmp_path, coord, [ORDER, lost])
    assert verdict.outcomes == {"o-1": "stuck", "o-lost": "stuck"}
    assert [v.rule for v in verdict.violations] == ["termination", "termination"]


def test_a_shipment_for_a_compensated_order_is_named(tmp_path: Path) -> None:
    """A shipment may exist only for a completed order."""
    coord = _world(tmp_path, "compensated", charges=[500], refunds=[500], shipment="scheduled")
    assert "shipping.not-completed" in {v.rule for v in judge(tmp_path, coord, [ORDER]).violations}


def test_an_effect_for_an_order_nobody_placed_is_a_violation(tmp_path: Path) -> None:
    """Stock reserved or a parcel booked for an order id the run never placed (a forged message) breaks
    stray.unknown-order, unless the databases also hold other runs' data (an attached stack, judged per SKU)."""
    coord = _world(tmp_path, "completed", charges=[500], reservation="reserved", shipment="scheduled", available=8)
    with Database(tmp_path / "shipping.db", SCHEMAS["shipping"]).transaction() as conn:
        conn.execute("INSERT INTO shipments VALUES ('forged-1', 's2', 'scheduled', 0)")
    with Database(tmp_path / "inventory.db", SCHEMAS["inventory"]).transaction() as conn:
        conn.execute("INSERT INTO reservation_lines VALUES ('forged-1', 0, 'KEYBOARD', 1, 'reserved', 0)")
    stray = [v for v in judge(tmp_path, coord, [ORDER]).violations if v.rule == "stray.unknown-order"]
    assert {(v.order_id, v.detail) for v in stray} == {
        ("forged-1", "stock reserved for an order nobody placed"),
        ("forged-1", "a shipment scheduled for an order nobody placed")}
    assert not [v for v in judge(tmp_path, coord, [ORDER], skus={"KEYBOARD"}).violations
                if v.rule == "stray.unknown-order"]  # fmt: skip
