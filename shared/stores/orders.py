"""The orders table: each order as placed and its final status, kept by whoever fronts the saga
(the order service in choreography, the orchestrator in orchestration)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

from shared.domain.contracts import Order

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


def read_orders(conn: sqlite3.Connection) -> dict[str, OrderRecord]:
    rows = conn.execute("SELECT order_id, status, placed_at, settled_at, detail FROM orders")
    return {r[0]: OrderRecord(*r) for r in rows}
