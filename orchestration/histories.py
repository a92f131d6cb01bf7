"""Finding an execution's history and pinned definition in run folders' orchestrator databases (read-only).

A run folder without an orchestrator database (a choreography run) is passed over; one whose database
lacks the orchestrator's tables raises StoreSchemaError rather than passing for "no such execution"."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from orchestration import retention, store
from orchestration.definitions import pinned
from shared.stores.location import database_exists
from shared.stores.read import StoreSchemaError, read_only

T = TypeVar("T")


def _first_found(data_dirs: Iterable[Path], read: Callable[[sqlite3.Connection], T | None]) -> tuple[T, Path] | None:
    """What ``read`` finds in the first orchestrator database (in the order given) where it finds anything."""
    for data_dir in data_dirs:
        path = data_dir / "orchestrator.db" if data_dir.is_dir() else data_dir
        if not database_exists(path):
            continue
        with read_only(path, "orchestrator") as db:
            try:
                found = read(db.conn)
            except sqlite3.OperationalError as exc:
                raise StoreSchemaError(f"{path}: {exc} (is this a sagalab orchestrator database?)") from exc
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


def find_pruned(execution_id: str, data_dirs: Iterable[Path]) -> tuple[tuple[str, float | None], Path] | None:
    """``((status, settled_at), folder)`` if a run folder's orchestrator settled this order and then pruned
    its execution (``retention.py``)."""
    return _first_found(data_dirs, lambda conn: retention.pruned_order(conn, execution_id))
