"""Reading and printing an execution's history (``sagalab history ORDER_ID``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from orchestration import store
from orchestration.asl.history import details_key
from orchestration.definitions import pinned

T = TypeVar("T")

_STYLE = {"Failed": "red", "TimedOut": "red", "Succeeded": "green", "Scheduled": "cyan"}


def _first_found(data_dirs: Iterable[Path], read: Callable[[sqlite3.Connection], T | None]) -> tuple[T, Path] | None:
    """What ``read`` finds in the first orchestrator database (in the order given) where it finds anything."""
    for data_dir in data_dirs:
        path = data_dir / "orchestrator.db" if data_dir.is_dir() else data_dir
        if not path.exists():
            continue
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = read(conn)
        except sqlite3.OperationalError:  # not an orchestrator's database
            found = None
        finally:
            conn.close()
        if found:
            return found, data_dir
    return None


def find_history(execution_id: str, data_dirs: Iterable[Path]) -> list[dict[str, Any]] | None:
    """The events of an execution, from the first run folder whose orchestrator database has it."""
    found = _first_found(data_dirs, lambda conn: store.history(conn, execution_id))
    return found[0] if found else None


def find_definition(execution_id: str, data_dirs: Iterable[Path]) -> dict[str, str] | None:
    """Which definition an execution ran on: the file's name and the digest it was pinned to."""
    found = _first_found(data_dirs, lambda conn: pinned(conn, execution_id))
    if found is None:
        return None
    record = found[0]
    return {"name": record.name or "(copy missing)", "digest": f"sha256:{record.digest}"}


def first_execution(data_dirs: Iterable[Path]) -> tuple[str, Path] | None:
    """The first execution of the first run folder (in the order given) whose orchestrator database has one."""
    return _first_found(data_dirs, store.first_execution)


def summary(event: dict[str, Any]) -> str:
    """One line of what matters in an event's details."""
    d = event.get(details_key(event["type"]), {}) or {}
    parts = []
    for key in ("name", "resource", "error", "cause"):
        if d.get(key):
            parts.append(f"{d[key]}" if key in ("name", "resource") else f"{key}={d[key]}")
    if "attempt" in d and d["attempt"]:
        parts.append(f"attempt {d['attempt']}")
    for key in ("retryDelaySeconds", "retryInSeconds", "waitedSeconds"):
        if d.get(key) is not None:
            parts.append(f"{key}={d[key]}")
    return "  ".join(str(p) for p in parts)


def render_history(events: list[dict[str, Any]], console: Console) -> None:
    start = datetime.fromisoformat(events[0]["timestamp"].replace("Z", "+00:00"))
    table = Table(header_style="bold")
    for col in ("id", "prev", "+ms", "type", "details"):
        table.add_column(col, justify="right" if col in ("id", "prev", "+ms") else "left")
    for e in events:
        at = datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
        style = next((s for suffix, s in _STYLE.items() if e["type"].endswith(suffix)), None)
        table.add_row(str(e["id"]), str(e["previousEventId"]), f"{(at - start).total_seconds() * 1000:.1f}",
                      e["type"], summary(e), style=style)  # fmt: skip
    console.print(table)
