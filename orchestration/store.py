"""The orchestrator's own database: each execution's current state, its history, and when it next wakes.

Several orchestrator replicas may share it (``--instances K``): each execution row carries a ``version``, and a
step is written with ``UPDATE ... WHERE version = ?`` (or an insert that must be the first), so of two replicas
that stepped the same execution from the same state only one commits; the other gets ``ExecutionConflict``,
drops its work and reads the execution again (``orchestration/replicas.py``). Plain SQL, for SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from orchestration.asl import Execution, HistoryEvent
from orchestration.asl.history import details_key
from orchestration.definitions import DEFINITIONS_SCHEMA
from shared.stores.orders import ORDERS_SCHEMA

ORCHESTRATOR_SCHEMA = (
    ORDERS_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY, status TEXT NOT NULL, state TEXT NOT NULL, wake_at REAL,
    started_at REAL NOT NULL, updated_at REAL NOT NULL, version INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS executions_wake ON executions (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    execution_id TEXT NOT NULL, first_event_id INTEGER NOT NULL, events TEXT NOT NULL,
    PRIMARY KEY (execution_id, first_event_id));
"""
    + DEFINITIONS_SCHEMA
)
"""History is kept as one row per step (a JSON array of that step's events): a step writes one row,
however many events it produced. A rowid table, not WITHOUT ROWID: a step's row (about 2 KB) then fits
in its leaf page, where a WITHOUT ROWID row of over about 1 KB spills into an overflow page of its own,
written whole for each step (twice the file and the WAL traffic, about 20 us more per step)."""


class ExecutionConflict(Exception):
    """Another replica stepped the execution since it was read: this step must not commit."""


def migrate(conn: sqlite3.Connection) -> None:
    """Databases written before executions were versioned get the column."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(executions)")}
    if "version" not in columns:
        conn.execute("ALTER TABLE executions ADD COLUMN version INTEGER NOT NULL DEFAULT 1")


def _ts(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def load_text(conn: sqlite3.Connection, execution_id: str) -> str | None:
    """An execution's persisted state as stored (JSON text)."""
    row = conn.execute("SELECT state FROM executions WHERE execution_id = ?", (execution_id,)).fetchone()
    return row[0] if row else None


def load(conn: sqlite3.Connection, execution_id: str) -> Execution | None:
    text = load_text(conn, execution_id)
    return Execution.model_validate_json(text) if text is not None else None


def load_versioned(conn: sqlite3.Connection, execution_id: str) -> tuple[str, int] | None:
    """An execution's stored state (JSON text) and the version a versioned save must name."""
    row = conn.execute("SELECT state, version FROM executions WHERE execution_id = ?", (execution_id,)).fetchone()
    return (row[0], int(row[1])) if row else None


def save(conn: sqlite3.Connection, execution: Execution, text: str | None = None) -> str:
    """Persist an execution whatever is stored (one writer: an Express log); returns the JSON text stored."""
    text = text or execution.model_dump_json()
    conn.execute(
        "INSERT INTO executions (execution_id, status, state, wake_at, started_at, updated_at, version)"
        " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (execution_id) DO UPDATE SET"
        " status = excluded.status, state = excluded.state, wake_at = excluded.wake_at,"
        " updated_at = excluded.updated_at, version = executions.version + 1",
        (execution.execution_id, execution.status, text, _wake(execution), _ts(execution.started_at), time.time()),
    )
    return text


def save_versioned(conn: sqlite3.Connection, execution: Execution, expected: int | None, text: str | None = None
                   ) -> tuple[str, int]:  # fmt: skip
    """Persist a step of an execution read at version ``expected`` (None: it did not exist); returns the text
    stored and the new version. Raises ExecutionConflict when another writer got there first."""
    text = text or execution.model_dump_json()
    now = time.time()
    if expected is None:
        cur = conn.execute(
            "INSERT INTO executions (execution_id, status, state, wake_at, started_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (execution_id) DO NOTHING",
            (execution.execution_id, execution.status, text, _wake(execution), _ts(execution.started_at), now),
        )
    else:
        cur = conn.execute(
            "UPDATE executions SET status = ?, state = ?, wake_at = ?, updated_at = ?, version = version + 1"
            " WHERE execution_id = ? AND version = ?",
            (execution.status, text, _wake(execution), now, execution.execution_id, expected),
        )
    if cur.rowcount != 1:
        raise ExecutionConflict(f"execution {execution.execution_id} changed since version {expected} was read")
    return text, (expected or 0) + 1


def status(conn: sqlite3.Connection, execution_id: str) -> str | None:
    row = conn.execute("SELECT status FROM executions WHERE execution_id = ?", (execution_id,)).fetchone()
    return str(row[0]) if row else None


def forget_history(conn: sqlite3.Connection, execution_id: str) -> None:
    """An execution that runs again from the start (Express) writes its history afresh."""
    conn.execute("DELETE FROM history WHERE execution_id = ?", (execution_id,))


def _wake(execution: Execution) -> float | None:
    return _ts(execution.wake_at) if execution.status == "RUNNING" else None


_JSON = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def append_history(conn: sqlite3.Connection, execution_id: str, events: Sequence[HistoryEvent]) -> None:
    if events:
        write_history(conn, execution_id, [event_json(e) for e in events])


def write_history(conn: sqlite3.Connection, execution_id: str, events: Sequence[dict[str, Any]]) -> None:
    """Store events already in their GetExecutionHistory shape (one row for the lot)."""
    _write_row(conn, execution_id, events[0]["id"], orjson.dumps(events, option=_JSON))


def write_encoded_history(conn: sqlite3.Connection, execution_id: str, first_event_id: int,
                          encoded: Sequence[bytes]) -> None:  # fmt: skip
    """Store events each already encoded by ``encode_event`` (one row for the lot, as ``write_history`` writes)."""
    _write_row(conn, execution_id, first_event_id, b"[" + b",".join(encoded) + b"]")


def _write_row(conn: sqlite3.Connection, execution_id: str, first_event_id: int, body: bytes) -> None:
    conn.execute("INSERT INTO history VALUES (?, ?, ?) ON CONFLICT (execution_id, first_event_id)"
                 " DO UPDATE SET events = excluded.events", (execution_id, first_event_id, body.decode()))  # fmt: skip


def encode_event(event: HistoryEvent) -> bytes:
    """One event as the JSON ``write_history`` stores it (a history kept in memory holds these, not objects)."""
    return orjson.dumps(event_json(event), option=_JSON)


def event_json(event: HistoryEvent) -> dict[str, Any]:
    """The AWS shape of an event, built directly (pydantic's wrap serializer costs more per event)."""
    return {"id": event.id, "previousEventId": event.previous_event_id, "timestamp": event.timestamp,
            "type": event.type, details_key(event.type): event.details}  # fmt: skip


def history(conn: sqlite3.Connection, execution_id: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT events FROM history WHERE execution_id = ? ORDER BY first_event_id", (execution_id,))
    return [event for r in rows for event in orjson.loads(r[0])]


def due(conn: sqlite3.Connection, now: datetime, limit: int = 200) -> list[str]:
    rows = conn.execute(
        "SELECT execution_id FROM executions WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at LIMIT ?",
        (now.timestamp(), limit),
    )
    return [r[0] for r in rows]


def next_wake(conn: sqlite3.Connection) -> float | None:
    row = conn.execute("SELECT MIN(wake_at) FROM executions WHERE wake_at IS NOT NULL").fetchone()
    return float(row[0]) if row and row[0] is not None else None


def first_execution(conn: sqlite3.Connection) -> str | None:
    """The id of the execution that started first (``sagalab history`` with no id)."""
    row = conn.execute("SELECT execution_id FROM executions ORDER BY started_at, execution_id LIMIT 1").fetchone()
    return row[0] if row else None


def executions(conn: sqlite3.Connection) -> dict[str, str]:
    """Status of every execution, by id."""
    return dict(conn.execute("SELECT execution_id, status FROM executions").fetchall())
