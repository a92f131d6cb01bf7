"""Orders of several lines: the contract (and its old one-line form), Inventory per line on its real SQLite
repository, the business key per line, and the oracle judging every line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from scenarios.ledger import Effects, Held
from scenarios.oracle import _order_violations, _stock_violations
from shared.domain.contracts import (
    MAX_LINES,
    Order,
    OutOfStock,
    ReleaseStock,
    ReserveStock,
    StockReleased,
    StockReserved,
)
from shared.runtime.handlers import SCHEMAS, handle_command, step_of
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.sqlite import Database

LINES = [{"sku": "KEYBOARD", "quantity": 1}, {"sku": "MOUSE", "quantity": 2}, {"sku": "DOCK", "quantity": 1}]


def _order(lines: list[dict[str, object]] = LINES, order_id: str = "o-1") -> Order:
    return Order(order_id=order_id, customer_id="c", lines=lines, amount_cents=9999,  # type: ignore[arg-type]
                 card_number="4242424242424242", destination="Berlin")  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "inventory.db", SCHEMAS["inventory"])
    with database.transaction() as conn:
        stock_up(conn, {"KEYBOARD": 5, "MOUSE": 5, "DOCK": 0})
    yield database
    database.close()


def run(db: Database, command):  # type: ignore[no-untyped-def]
    with db.transaction() as conn:
        return handle_command(command, conn)


def available(db: Database) -> dict[str, int]:
    return dict(db.conn.execute("SELECT sku, available FROM stock"))


def held(db: Database, order_id: str = "o-1") -> dict[int, str]:
    return dict(db.conn.execute("SELECT line, status FROM reservation_lines WHERE order_id = ?", (order_id,)))


def test_the_one_line_form_is_still_read_and_every_order_is_sent_with_lines() -> None:
    old = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=2, amount_cents=1,  # type: ignore[call-arg]
                card_number="4242424242424242", destination="Oslo")  # fmt: skip
    assert old.lines[0].sku == "KEYBOARD" and old.lines[0].quantity == 2
    assert "sku" not in json.loads(old.model_dump_json()) and len(json.loads(old.model_dump_json())["lines"]) == 1
    with pytest.raises(ValidationError, match="lines"):
        _order([])
    with pytest.raises(ValidationError, match="lines"):
        _order([{"sku": "KEYBOARD", "quantity": 1}] * (MAX_LINES + 1))
    with pytest.raises(ValidationError):  # both forms at once
        Order.model_validate({**_order().model_dump(), "sku": "KEYBOARD"})
    assert _order(LINES + [{"sku": "KEYBOARD", "quantity": 3}]).quantities() == {"KEYBOARD": 4, "MOUSE": 2, "DOCK": 1}


def test_lines_are_reserved_one_at_a_time_and_a_repeat_holds_no_more(db: Database) -> None:
    order = _order()
    assert isinstance(run(db, ReserveStock(correlation_id="o-1", order=order, line=1)), StockReserved)
    assert isinstance(run(db, ReserveStock(correlation_id="o-1", order=order, line=1)), StockReserved)
    assert available(db)["MOUSE"] == 3 and held(db) == {1: "reserved"}
    out = run(db, ReserveStock(correlation_id="o-1", order=order, line=2))
    assert isinstance(out, OutOfStock) and out.line == 2 and "DOCK" in out.reason
    gone = run(db, ReserveStock(correlation_id="o-1", order=order, line=7))
    assert isinstance(gone, OutOfStock) and "no line 7" in gone.reason


def test_a_whole_order_is_reserved_all_or_nothing(db: Database) -> None:
    out = run(db, ReserveStock(correlation_id="o-1", order=_order()))
    assert isinstance(out, OutOfStock) and out.line is None
    assert available(db) == {"KEYBOARD": 5, "MOUSE": 5, "DOCK": 0} and held(db) == {}
    two = _order(LINES[:2], "o-2")
    assert isinstance(run(db, ReserveStock(correlation_id="o-2", order=two)), StockReserved)
    assert held(db, "o-2") == {0: "reserved", 1: "reserved"}
    released = run(db, ReleaseStock(correlation_id="o-2", order_id="o-2"))
    assert isinstance(released, StockReleased) and released.quantity == 3 and available(db)["MOUSE"] == 5


def test_a_line_released_gives_back_that_line_only_and_a_release_first_refuses_its_late_reserve(db: Database) -> None:
    order = _order(LINES[:2])
    for line in (0, 1):
        run(db, ReserveStock(correlation_id="o-1", order=order, line=line))
    released = run(db, ReleaseStock(correlation_id="o-1", order_id="o-1", line=1))
    assert released.quantity == 2 and released.line == 1 and held(db) == {0: "reserved", 1: "released"}
    other = _order(LINES[:2], "o-3")
    run(db, ReleaseStock(correlation_id="o-3", order_id="o-3", line=1))  # the release overtook the reserve
    late = run(db, ReserveStock(correlation_id="o-3", order=other, line=1))
    assert isinstance(late, OutOfStock) and "cancelled" in late.reason
    assert isinstance(run(db, ReserveStock(correlation_id="o-3", order=other, line=0)), StockReserved)
    run(db, ReleaseStock(correlation_id="o-4", order_id="o-4"))  # a whole-order release with nothing held
    assert isinstance(run(db, ReserveStock(correlation_id="o-4", order=_order(LINES[:1], "o-4"), line=0)), OutOfStock)


def test_the_business_key_and_the_barrier_are_per_line() -> None:
    step = step_of(ReserveStock, lambda m, r, tx: [])
    order = _order()
    assert step.key(ReserveStock(correlation_id="o-1", order=order, line=2)) == "ReserveStock#2"
    assert step.undo_key(ReserveStock(correlation_id="o-1", order=order, line=2)) == "ReleaseStock#2"
    assert step.key(ReserveStock(correlation_id="o-1", order=order)) == "ReserveStock"


def test_an_old_inventory_database_keeps_its_reservations_as_line_0(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE reservations (order_id TEXT PRIMARY KEY, sku TEXT NOT NULL, quantity INTEGER"
                           " NOT NULL, status TEXT NOT NULL, at REAL NOT NULL);"
                           "INSERT INTO reservations VALUES ('o-1', 'KEYBOARD', 1, 'reserved', 0);"
                           "INSERT INTO reservations VALUES ('o-2', '', 0, 'cancelled', 0);")  # fmt: skip
    db = Database(path, INVENTORY_SCHEMA)
    try:
        assert held(db) == {0: "reserved"} and held(db, "o-2") == {-1: "cancelled"}
        db.conn.execute("UPDATE reservation_lines SET status = 'released' WHERE order_id = 'o-1'")
    finally:
        db.close()
    db = Database(path, INVENTORY_SCHEMA)  # opened again: the line already there is kept
    try:
        assert held(db) == {0: "released"}
    finally:
        db.close()


def test_the_oracle_names_each_line_left_behind_or_missing() -> None:
    order = _order()
    ledger = Effects()
    ledger.charges["o-1"].append(9999)
    ledger.refunds["o-1"].append(9999)
    ledger.reservations["o-1"] = {0: Held("KEYBOARD", 1, "released"), 1: Held("MOUSE", 2, "reserved")}
    [left] = _order_violations(order, "compensated", ledger)
    assert left.rule == "stock.left-behind" and left.detail == "compensated but 2 x MOUSE (line 2) still reserved"
    ledger.refunds["o-1"].clear()
    ledger.reservations["o-1"] = {0: Held("KEYBOARD", 1, "reserved"), 1: Held("MOUSE", 2, "reserved")}
    ledger.shipments["o-1"] = "scheduled"
    [missing] = _order_violations(order, "completed", ledger)
    assert missing.rule == "stock.missing" and missing.detail.endswith("for line(s) 3")
    ledger.stock = {"KEYBOARD": (5, 4), "MOUSE": (5, 3)}
    assert _stock_violations(ledger) == []
    ledger.stock["MOUSE"] = (5, 4)
    assert [v.rule for v in _stock_violations(ledger)] == ["stock.conservation"]
