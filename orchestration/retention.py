"""Keeping the orchestrator's finished executions bounded: after a retention (``HISTORY_RETENTION_S``, a
week by default), a finished execution's history, state and pin are deleted, in small batches of plain SQL.

The order's row in the ``orders`` table stays (the business record, and the defence): a PlaceOrder for an
order whose execution was pruned is recognised by its settled order row and starts nothing
(``pruned_order``), and ``sagalab history`` says the execution finished and was pruned, rather than that
it never existed. A reply that arrives for a pruned execution is ignored as one nobody waits for.
"""

from __future__ import annotations

import os
import sqlite3

from shared.runtime.pruner import Horizon
from shared.stores.orders import FINAL_STATUSES

HISTORY_RETENTION_S = 7 * 24 * 3600.0
"""How long a finished execution keeps its history: ``SAGALAB_HISTORY_RETENTION_S``."""
BATCH = 500
"""Executions pruned per batch (each has a state row, a pin and a few history rows)."""

RETENTION_INDEXES = ("CREATE INDEX IF NOT EXISTS executions_finished ON executions (updated_at) WHERE status <> 'RUNNING'",)
"""Finished executions by age: a partial index (PostgreSQL and SQLite both have them) that running
executions, stepped often, never touch."""


def history_retention_s() -> float:
    return float(os.environ.get("SAGALAB_HISTORY_RETENTION_S") or HISTORY_RETENTION_S)


def prune_finished(conn: sqlite3.Connection, before: float, batch: int = BATCH) -> int:
    """Delete up to ``batch`` executions that finished before ``before``, with their history and pin."""
    for statement in RETENTION_INDEXES:
        conn.execute(statement)
    ids = conn.execute("SELECT execution_id FROM executions WHERE status <> 'RUNNING' AND updated_at < ? LIMIT ?",
                       (before, batch)).fetchall()  # fmt: skip
    for table in ("history", "pins", "executions"):
        conn.executemany(f"DELETE FROM {table} WHERE execution_id = ?", ids)
    return len(ids)


def horizon() -> Horizon:
    return Horizon(prune_finished, history_retention_s())


def pruned_order(conn: sqlite3.Connection, order_id: str) -> tuple[str, float | None] | None:
    """``(status, settled_at)`` of an order that settled but has no execution any more (pruned), else None."""
    row = conn.execute("SELECT status, settled_at FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None or row[0] not in FINAL_STATUSES:
        return None
    if conn.execute("SELECT 1 FROM executions WHERE execution_id = ?", (order_id,)).fetchone() is not None:
        return None
    return str(row[0]), row[1]
