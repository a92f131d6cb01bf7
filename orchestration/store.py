"""The orchestrator's own database: each execution's current state, its history, and when it next wakes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orchestration.asl import Execution, HistoryEvent
from shared.stores.orders import ORDERS_SCHEMA

ORCHESTRATOR_SCHEMA = (
    ORDERS_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY, status TEXT NOT NULL, state TEXT NOT NULL, wake_at REAL,
    started_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS executions_wake ON executions (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    execution_id TEXT NOT NULL, event_id INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)) WITHOUT ROWID;
"""
)


def _ts(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def load(conn: sqlite3.Connection, execution_id: str) -> Execution | None:
    row = conn.execute("SELECT state FROM executions WHERE execution_id = ?", (execution_id,)).fetchone()
    return Execution.model_validate_json(row[0]) if row else None


def save(conn: sqlite3.Connection, execution: Execution) -> None:
    wake = _ts(execution.wake_at) if execution.status == "RUNNING" else None
    conn.execute(
        "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (execution_id) DO UPDATE SET"
        " status = excluded.status, state = excluded.state, wake_at = excluded.wake_at,"
        " updated_at = excluded.updated_at",
        (execution.execution_id, execution.status, execution.model_dump_json(), wake,
         _ts(execution.started_at), datetime.now().timestamp()),
    )  # fmt: skip


def append_history(conn: sqlite3.Connection, execution_id: str, events: Iterable[HistoryEvent]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?)",
        [(execution_id, e.id, e.type, e.model_dump_json(by_alias=True)) for e in events],
    )


def history(conn: sqlite3.Connection, execution_id: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT body FROM history WHERE execution_id = ? ORDER BY event_id", (execution_id,))
    return [json.loads(r[0]) for r in rows]


def due(conn: sqlite3.Connection, now: datetime, limit: int = 200) -> list[str]:
    rows = conn.execute(
        "SELECT execution_id FROM executions WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at LIMIT ?",
        (now.timestamp(), limit),
    )
    return [r[0] for r in rows]


def next_wake(conn: sqlite3.Connection) -> float | None:
    row = conn.execute("SELECT MIN(wake_at) FROM executions WHERE wake_at IS NOT NULL").fetchone()
    return float(row[0]) if row and row[0] is not None else None


def executions(conn: sqlite3.Connection) -> dict[str, str]:
    """Status of every execution, by id."""
    return dict(conn.execute("SELECT execution_id, status FROM executions").fetchall())
