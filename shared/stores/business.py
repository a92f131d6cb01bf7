"""SQLite tables (also PostgreSQL's, through ``dialect.py``) and repositories of the three domain services (the domain sees only the Protocols), and
beside each schema its read side: what the lab's oracle reads of that service's database, as typed rows."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.domain.ledger import LedgerMoney, LedgerReservation, LedgerShipment, LedgerStock
from shared.domain.services.inventory import Reservation
from shared.domain.services.payment import Charge
from shared.domain.services.shipping import Shipment
from shared.stores.dialect import SQLITE
from shared.stores.read import ReadOnly

PAYMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    payment_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS charges_order ON charges (order_id);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS refunds_order ON refunds (order_id);
CREATE TABLE IF NOT EXISTS voided (order_id TEXT PRIMARY KEY, at REAL NOT NULL);
"""

INVENTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, initial INTEGER NOT NULL, available INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservation_lines (
    order_id TEXT NOT NULL, line INTEGER NOT NULL, sku TEXT NOT NULL, quantity INTEGER NOT NULL,
    status TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (order_id, line));
-- A database written before orders had lines kept one reservation per order in `reservations`, which nothing
-- writes any more: its rows become line 0 (a tombstone, the whole order: line -1), once (a line already there is
-- kept). On a newer database the old table is empty. It is never dropped: replicas starting together run this too.
CREATE TABLE IF NOT EXISTS reservations (
    order_id TEXT PRIMARY KEY, sku TEXT NOT NULL, quantity INTEGER NOT NULL, status TEXT NOT NULL,
    at REAL NOT NULL);
INSERT INTO reservation_lines
    SELECT order_id, CASE status WHEN 'cancelled' THEN -1 ELSE 0 END, sku, quantity, status, at
    FROM reservations WHERE true ON CONFLICT DO NOTHING;
"""

SHIPPING_SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (
    order_id TEXT PRIMARY KEY, shipment_id TEXT NOT NULL, status TEXT NOT NULL, at REAL NOT NULL);
"""


class SqlitePaymentLedger:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def charge_for(self, order_id: str) -> Charge | None:
        row = self.conn.execute(
            "SELECT payment_id, amount_cents FROM charges WHERE order_id = ? ORDER BY at LIMIT 1", (order_id,)
        ).fetchone()
        return Charge(*row) if row else None

    def record_charge(self, order_id: str, charge: Charge) -> None:
        self.conn.execute(
            "INSERT INTO charges VALUES (?, ?, ?, ?)", (charge.payment_id, order_id, charge.amount_cents, time.time())
        )

    def record_refund(self, order_id: str, amount_cents: int) -> None:
        self.conn.execute(
            "INSERT INTO refunds (order_id, amount_cents, at) VALUES (?, ?, ?)", (order_id, amount_cents, time.time())
        )

    def is_void(self, order_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM voided WHERE order_id = ?", (order_id,)).fetchone() is not None

    def void(self, order_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO voided VALUES (?, ?)", (order_id, time.time()))


class SqliteStockRepository:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def available(self, sku: str) -> int | None:
        """The level, with the row locked until commit where replicas write at once (the reservation that
        follows depends on it)."""
        lock = getattr(self.conn, "dialect", SQLITE).lock_row
        row = self.conn.execute(f"SELECT available FROM stock WHERE sku = ?{lock}", (sku,)).fetchone()
        return int(row[0]) if row else None

    def adjust_available(self, sku: str, delta: int) -> None:
        self.conn.execute("UPDATE stock SET available = available + ? WHERE sku = ?", (delta, sku))

    def reservations(self, order_id: str) -> dict[int, Reservation]:
        rows = self.conn.execute(
            "SELECT line, sku, quantity, status FROM reservation_lines WHERE order_id = ?", (order_id,)
        )
        return {line: Reservation(sku, quantity, status) for line, sku, quantity, status in rows}

    def save_reservation(self, order_id: str, line: int, reservation: Reservation) -> None:
        self.conn.execute(
            "INSERT INTO reservation_lines VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (order_id, line) DO UPDATE SET"
            " sku = excluded.sku, quantity = excluded.quantity, status = excluded.status, at = excluded.at",
            (order_id, line, reservation.sku, reservation.quantity, reservation.status, time.time()),
        )


def stock_up(conn: sqlite3.Connection, levels: dict[str, int]) -> None:
    """Set a scenario's initial stock (run before the inventory service starts)."""
    conn.executemany(
        "INSERT INTO stock (sku, initial, available) VALUES (?, ?, ?)"
        " ON CONFLICT (sku) DO UPDATE SET initial = excluded.initial, available = excluded.available",
        [(sku, qty, qty) for sku, qty in levels.items()],
    )


class SqliteShipmentRepository:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def shipment(self, order_id: str) -> Shipment | None:
        row = self.conn.execute("SELECT shipment_id, status FROM shipments WHERE order_id = ?", (order_id,)).fetchone()
        return Shipment(*row) if row else None

    def save_shipment(self, order_id: str, shipment: Shipment) -> None:
        self.conn.execute(
            "INSERT INTO shipments VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
            " shipment_id = excluded.shipment_id, status = excluded.status, at = excluded.at",
            (order_id, shipment.shipment_id, shipment.status, time.time()),
        )


# --- the read side: what the oracle reads, failing loudly if a table or column above is renamed ------------


@dataclass(frozen=True)
class Money:
    """One charge or one refund of an order."""

    order_id: str
    amount_cents: int


@dataclass(frozen=True)
class StockLevel:
    sku: str
    initial: int
    available: int


@dataclass(frozen=True)
class ReservationRow:
    order_id: str
    line: int
    sku: str
    quantity: int
    status: str


@dataclass(frozen=True)
class ShipmentRow:
    order_id: str
    status: str


class PaymentLedgerView:
    """A payment database, read-only: every charge and every refund."""

    def __init__(self, db: ReadOnly) -> None:
        self.db = db

    def charges(self) -> list[Money]:
        return [Money(*r) for r in self.db.rows("SELECT order_id, amount_cents FROM charges")]

    def refunds(self) -> list[Money]:
        return [Money(*r) for r in self.db.rows("SELECT order_id, amount_cents FROM refunds")]


class StockView:
    """An inventory database, read-only: each SKU's levels and each order's reservations, line by line."""

    def __init__(self, db: ReadOnly) -> None:
        self.db = db

    def levels(self) -> list[StockLevel]:
        return [StockLevel(*r) for r in self.db.rows("SELECT sku, initial, available FROM stock")]

    def reservations(self) -> list[ReservationRow]:
        return [ReservationRow(*r) for r in self.db.rows(
            "SELECT order_id, line, sku, quantity, status FROM reservation_lines ORDER BY order_id, line")]


class ShipmentsView:
    """A shipping database, read-only: each order's shipment."""

    def __init__(self, db: ReadOnly) -> None:
        self.db = db

    def shipments(self) -> list[ShipmentRow]:
        return [ShipmentRow(*r) for r in self.db.rows("SELECT order_id, status FROM shipments")]



def ledger_report(service: str, db: ReadOnly, order_ids: Iterable[str] | None) -> dict[str, list[Any]]:
    """A domain service's effects on these orders (none for None; inventory's stock levels always), as the
    fields of a ``LedgerReport``: the built-in services answer the ledger query with exactly this."""
    wanted = set(order_ids or ())
    if service == "payment":
        view = PaymentLedgerView(db)
        return {"charges": [LedgerMoney(order_id=m.order_id, amount_cents=m.amount_cents)
                            for m in view.charges() if m.order_id in wanted],
                "refunds": [LedgerMoney(order_id=m.order_id, amount_cents=m.amount_cents)
                            for m in view.refunds() if m.order_id in wanted]}  # fmt: skip
    if service == "inventory":
        stock = StockView(db)
        return {"stock": [LedgerStock(sku=s.sku, initial=s.initial, available=s.available) for s in stock.levels()],
                "reservations": [LedgerReservation(order_id=r.order_id, line=r.line, sku=r.sku, quantity=r.quantity,
                                                   status=r.status)  # type: ignore[arg-type]
                                 for r in stock.reservations() if r.order_id in wanted]}  # fmt: skip
    if service == "shipping":
        return {"shipments": [LedgerShipment(order_id=s.order_id, status=s.status)  # type: ignore[arg-type]
                              for s in ShipmentsView(db).shipments() if s.order_id in wanted]}  # fmt: skip
    raise ValueError(f"{service!r} keeps no ledger; one of payment, inventory, shipping")
