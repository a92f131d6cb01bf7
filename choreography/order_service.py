"""The order service: takes orders in, announces them, and records how each saga ended.

It does not steer the saga; it only watches the events go by (a projection), which is all
choreography allows anyone to do.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass

import structlog

from choreography.reactions import ENDINGS, Ending
from shared.domain.contracts import Event, Message, OrderPlaced, PlaceOrder, RefundFailed, StockReleaseFailed
from shared.runtime.host import ALREADY_DONE
from shared.runtime.routes import Tx
from shared.stores.dialect import SQLITE
from shared.stores.orders import ORDERS_SCHEMA, record_placed, settle
from shared.stores.read import ReadOnly
from shared.stores.sqlite import Database
from shared.transport.wire import Outgoing

log = structlog.get_logger()

ORDER_SERVICE_SCHEMA = (
    ORDERS_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS order_events (
    order_id TEXT NOT NULL, type TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (order_id, type));
CREATE TABLE IF NOT EXISTS alerts (
    order_id TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (order_id, kind));
"""
)

DEFAULT_SAGA_DEADLINE_S = 30.0


@dataclass(frozen=True)
class Alert:
    """What the order service reported about a saga: it stalled, or a compensation failed for good."""

    order_id: str
    kind: str
    detail: str
    at: float


def read_alerts(db: ReadOnly) -> list[Alert]:
    """The order service's alerts, oldest first (the lab's read side of the table above)."""
    return [Alert(*r) for r in db.rows("SELECT order_id, kind, detail, at FROM alerts ORDER BY at")]


def place_order(message: Message, tx: Tx) -> list[Outgoing]:
    assert isinstance(message, PlaceOrder)
    if not record_placed(tx.conn, message.order):
        tx.ignored(f"PlaceOrder {ALREADY_DONE} {message.order.order_id}: placed before (the order id is the key)")
        return []
    return [Outgoing.event(message.caused(OrderPlaced, order=message.order))]


def watch(message: Message, tx: Tx) -> list[Outgoing]:
    """Record the event; settle the order when what it was waiting for has all been seen."""
    assert isinstance(message, Event)
    order_id = message.correlation_id
    # Replicas (--instances K) may watch two events of one order at once: taking the order's row first makes
    # them take turns, so the second reads the first's event and the order settles. Only PostgreSQL needs it:
    # SQLite's transactions (BEGIN IMMEDIATE) already take turns, and there it would be a wasted statement.
    if getattr(tx.conn, "dialect", SQLITE).lock_row:
        tx.conn.execute("UPDATE orders SET status = status WHERE order_id = ?", (order_id,))
    tx.conn.execute(
        "INSERT OR IGNORE INTO order_events VALUES (?, ?, ?)", (order_id, type(message).__name__, time.time())
    )
    if isinstance(message, (StockReleaseFailed, RefundFailed)):
        # A compensation that failed for good: kept so the parked order can name the step and its error.
        detail = f"{COMPENSATION_OF[type(message)]} failed: {message.reason}"
        tx.conn.execute("INSERT OR IGNORE INTO alerts VALUES (?, 'compensation-failed', ?, ?)",
                        (order_id, detail, time.time()))  # fmt: skip
    seen = _seen(tx.conn, order_id)
    for trigger, ending in ENDINGS.items():
        if trigger.__name__ in seen and _complete(ending, seen):
            failed = _failed_compensation(tx.conn, order_id) if ending.status == "needs-attention" else None
            settle(tx.conn, order_id, ending.status, detail=failed or trigger.__name__)  # type: ignore[arg-type]
            break
    return []


COMPENSATION_OF = {StockReleaseFailed: "ReleaseStock", RefundFailed: "RefundPayment"}


def _failed_compensation(conn: sqlite3.Connection, order_id: str) -> str | None:
    row = conn.execute(
        "SELECT detail FROM alerts WHERE order_id = ? AND kind = 'compensation-failed'", (order_id,)
    ).fetchone()
    return row[0] if row else None


def _seen(conn: sqlite3.Connection, order_id: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT type FROM order_events WHERE order_id = ?", (order_id,))}


def _complete(ending: Ending, seen: set[str]) -> bool:
    return all(e.__name__ in seen for e in ending.once_seen)


def stalled(conn: sqlite3.Connection, deadline_s: float, now: float) -> list[tuple[str, str, float]]:
    """Pending orders with no event for ``deadline_s``: (order id, the last thing seen, when)."""
    rows = conn.execute(
        "SELECT o.order_id, COALESCE(MAX(e.at), o.placed_at) AS last, "
        "COALESCE((SELECT type FROM order_events WHERE order_id = o.order_id ORDER BY at DESC LIMIT 1), 'OrderPlaced') "
        "FROM orders o LEFT JOIN order_events e ON e.order_id = o.order_id "
        "WHERE o.status = 'pending' GROUP BY o.order_id HAVING COALESCE(MAX(e.at), o.placed_at) < ?",
        (now - deadline_s,),
    )
    return [(order_id, last_type, last) for order_id, last, last_type in rows]


async def watch_deadlines(db: Database, deadline_s: float, stopping: asyncio.Event, every_s: float = 0.5) -> None:
    """The saga deadline watcher: in choreography nobody else would notice a saga that stopped moving.

    It reports each one (an alert, and the order parked as needing attention); if the saga moves again
    and ends, its final status replaces the parking."""
    while not stopping.is_set():
        now = time.time()
        with db.transaction() as conn:
            for order_id, last_type, last in stalled(conn, deadline_s, now):
                detail = f"no event for {now - last:.1f}s after {last_type}"
                conn.execute("INSERT OR IGNORE INTO alerts VALUES (?, 'stalled', ?, ?)", (order_id, detail, now))
                conn.execute("UPDATE orders SET status = 'needs-attention', detail = ? WHERE order_id = ?",
                             (detail, order_id))  # fmt: skip
                log.warning("saga stopped moving", correlation_id=order_id, detail=detail)
        try:
            await asyncio.wait_for(stopping.wait(), timeout=every_s)
        except TimeoutError:
            pass
