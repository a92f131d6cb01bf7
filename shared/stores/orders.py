"""The orders table: each order as placed and its final status, kept by whoever fronts the saga
(the order service in choreography, the orchestrator in orchestration), and its read side for the lab."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

from shared.domain.contracts import Order
from shared.stores.read import ReadOnly

OrderStatus = Literal["pending", "completed", "compensated", "needs-attention"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "compensated", "needs-attention"})

ORDERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, status TEXT NOT NULL, placed_at REAL NOT NULL, settled_at REAL,
    detail TEXT NOT NULL DEFAULT '', body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
CREATE INDEX IF NOT EXISTS orders_settled ON orders (settled_at) WHERE settled_at IS NOT NULL;
"""


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    status: OrderStatus
    placed_at: float
    settled_at: float | None
    detail: str


def record_placed(conn: sqlite3.Connection, order: Order) -> bool:
    """Record a new order as pending; False if it was already placed."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO orders (order_id, status, placed_at, body) VALUES (?, 'pending', ?, ?)",
        (order.order_id, time.time(), order.model_dump_json()),
    )
    return cur.rowcount == 1


def settle(conn: sqlite3.Connection, order_id: str, status: OrderStatus, detail: str = "") -> None:
    """Give an order its final status. A completed or compensated order keeps it; one parked as needing
    attention (a stalled saga) takes the status it ends with if it moves again."""
    conn.execute(
        "UPDATE orders SET status = ?, settled_at = ?, detail = ? WHERE order_id = ?"
        " AND status IN ('pending', 'needs-attention')",
        (status, time.time(), detail, order_id),
    )


_RECORDS = "SELECT order_id, status, placed_at, settled_at, detail FROM orders"


def read_orders(conn: sqlite3.Connection) -> dict[str, OrderRecord]:
    return {r[0]: OrderRecord(*r) for r in conn.execute(_RECORDS)}


class OrdersView:
    """A coordinator's orders table, read-only (settle, the oracle, the result's latencies)."""

    def __init__(self, db: ReadOnly) -> None:
        self.db = db

    def records(self) -> dict[str, OrderRecord]:
        return {r[0]: OrderRecord(*r) for r in self.db.rows(_RECORDS)}

    def statuses(self) -> dict[str, str]:
        return dict(self.db.rows("SELECT order_id, status FROM orders"))

    def settled_at(self) -> dict[str, float]:
        return dict(self.db.rows("SELECT order_id, settled_at FROM orders WHERE settled_at IS NOT NULL"))

    def settled_since(self, since: float) -> list[tuple[str, float]]:
        """``(order_id, settled_at)`` of the orders settled at ``since`` or later (the bench's raw chain
        keeps an orders table with these two columns too)."""
        return [(o, at) for o, at in self.db.rows("SELECT order_id, settled_at FROM orders WHERE settled_at >= ?",
                                                  (since,))]  # fmt: skip
