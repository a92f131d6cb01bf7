"""Knowing when a run has settled: the coordinator's orders table says which sagas reached an end."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from shared.stores.orders import FINAL_STATUSES


def _query(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:  # type: ignore[type-arg]
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        conn.close()


def statuses(path: Path) -> dict[str, str]:
    return dict(_query(path, "SELECT order_id, status FROM orders"))  # type: ignore[arg-type]


def settled_at(path: Path) -> dict[str, float]:
    return dict(_query(path, "SELECT order_id, settled_at FROM orders WHERE settled_at IS NOT NULL"))  # type: ignore[arg-type]


async def wait_settled(path: Path, order_ids: Iterable[str], deadline_s: float, attention_grace_s: float = 0.0) -> bool:
    """Poll until every order has a final status, or the deadline passes.

    An order parked as needing attention is final, but a scenario may give such orders a grace period
    to finish on their own (a slow service the deadline watcher reported, say)."""
    ids = set(order_ids)
    end = time.monotonic() + deadline_s
    parked_since: float | None = None
    while time.monotonic() < end:
        current = statuses(path)
        final = {o for o in ids if current.get(o) in FINAL_STATUSES}
        if final == ids:
            parked = any(current[o] == "needs-attention" for o in ids)
            if not parked:
                return True
            parked_since = parked_since or time.monotonic()
            if time.monotonic() - parked_since >= attention_grace_s:
                return True
        await asyncio.sleep(0.05)  # polling the coordinator's database with a deadline
    return False


def alerts(path: Path) -> list[dict[str, object]]:
    """What the choreography deadline watcher reported."""
    rows = _query(path, "SELECT order_id, kind, detail, at FROM alerts ORDER BY at")
    return [{"order_id": o, "kind": k, "detail": d, "at": a} for o, k, d, a in rows]
