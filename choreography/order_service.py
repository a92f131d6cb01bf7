"""The order service: takes orders in, announces them, and records how each saga ended.

It does not steer the saga; it only watches the events go by (a projection), which is all
choreography allows anyone to do.
"""

from __future__ import annotations

import sqlite3

from choreography.reactions import ENDINGS, Ending
from shared.contracts import Event, Message, OrderPlaced, PlaceOrder
from shared.runtime.host import Tx
from shared.stores.orders import ORDERS_SCHEMA, record_placed, settle
from shared.wire import Outgoing

ORDER_SERVICE_SCHEMA = (
    ORDERS_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS order_events (
    order_id TEXT NOT NULL, type TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (order_id, type));
"""
)


def place_order(message: Message, tx: Tx) -> list[Outgoing]:
    assert isinstance(message, PlaceOrder)
    if not record_placed(tx.conn, message.order):
        return []
    return [Outgoing.event(message.caused(OrderPlaced, order=message.order))]


def watch(message: Message, tx: Tx) -> list[Outgoing]:
    """Record the event; settle the order when what it was waiting for has all been seen."""
    assert isinstance(message, Event)
    order_id = message.correlation_id
    tx.conn.execute(
        "INSERT OR IGNORE INTO order_events VALUES (?, ?, strftime('%s','now'))", (order_id, type(message).__name__)
    )
    seen = _seen(tx.conn, order_id)
    for trigger, ending in ENDINGS.items():
        if trigger.__name__ in seen and _complete(ending, seen):
            settle(tx.conn, order_id, ending.status, detail=trigger.__name__)  # type: ignore[arg-type]
            break
    return []


def _seen(conn: sqlite3.Connection, order_id: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT type FROM order_events WHERE order_id = ?", (order_id,))}


def _complete(ending: Ending, seen: set[str]) -> bool:
    return all(e.__name__ in seen for e in ending.once_seen)
