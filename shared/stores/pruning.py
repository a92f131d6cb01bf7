"""Keeping every service's inbox and outbox bounded: plain, portable SQL (SQLite and PostgreSQL alike),
small batches, each in its caller's short transaction.

- **Inbox**: a handled message's row is deleted once it is older than the horizon (``INBOX_HORIZON_S``,
  one day by default). Redeliveries come within seconds or minutes (a consumer's crash, a relay's
  republish of an unconfirmed message); a day is far beyond any of them. A duplicate that still arrives
  later has no second effect either: the business-key ``steps`` rows, which are never pruned, answer it.
- **Outbox**: a row the broker confirmed (``sent_at`` set) is deleted once it is older than the same
  horizon, so a repeated command within the horizon is still answered with the stored reply. Rows never
  confirmed stay until the relay sends them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

INBOX_HORIZON_S = 24 * 3600.0
"""How long a handled message's inbox row (and a sent message's outbox row) is kept: ``SAGALAB_INBOX_HORIZON_S``."""
BATCH = 2000
"""Rows deleted per statement batch: each batch is one short transaction, so handlers wait little."""

PRUNING_INDEXES = ("CREATE INDEX IF NOT EXISTS inbox_handled ON inbox (handled_at)",)
"""The inbox's age, indexed so a prune reads only what it deletes (PostgreSQL and SQLite both accept this)."""

Pruner = Callable[[sqlite3.Connection, float], int]
"""Deletes up to one batch of what is older than the cutoff (epoch seconds); returns how many rows went."""


def inbox_horizon_s() -> float:
    return float(os.environ.get("SAGALAB_INBOX_HORIZON_S") or INBOX_HORIZON_S)


def ensure_indexes(conn: sqlite3.Connection) -> None:
    for statement in PRUNING_INDEXES:
        conn.execute(statement)


def prune_inbox(conn: sqlite3.Connection, before: float, batch: int = BATCH) -> int:
    """Delete up to ``batch`` inbox rows handled before ``before``."""
    rows = conn.execute("SELECT consumer, message_id FROM inbox WHERE handled_at < ? LIMIT ?", (before, batch)).fetchall()
    conn.executemany("DELETE FROM inbox WHERE consumer = ? AND message_id = ?", rows)
    return len(rows)


def prune_outbox(conn: sqlite3.Connection, before: float, batch: int = BATCH) -> int:
    """Delete the sent rows among the ``batch`` oldest outbox rows staged before ``before``.

    Sequence numbers grow with time, so the oldest rows come first by the primary key: no index on the
    timestamps is needed, and a prune reads one batch whatever the table holds."""
    head = conn.execute("SELECT seq, created_at, sent_at FROM outbox ORDER BY seq LIMIT ?", (batch,)).fetchall()
    done = [(seq,) for seq, created_at, sent_at in head if sent_at is not None and created_at < before]
    conn.executemany("DELETE FROM outbox WHERE seq = ?", done)
    return len(done)


SERVICE_PRUNERS: tuple[Pruner, ...] = (prune_inbox, prune_outbox)
