"""Knowing when a run has settled: the coordinator's orders table says which sagas reached an end.

Read through the stores' read side: a coordinator database without its orders table is an error, never
"nothing settled yet"."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from choreography.order_service import read_alerts
from shared.stores.orders import FINAL_STATUSES, OrdersView
from shared.stores.read import read_only


def statuses(path: Path) -> dict[str, str]:
    with read_only(path) as db:
        return OrdersView(db).statuses()


def settled_at(path: Path) -> dict[str, float]:
    with read_only(path) as db:
        return OrdersView(db).settled_at()


def statuses_now(path: Path) -> dict[str, str]:
    """The statuses, or none this time if a writer held its lock past the read's timeout (poll again)."""
    try:
        return statuses(path)
    except sqlite3.OperationalError:
        return {}


Progress = Callable[[int, int, float], None]
"""Told at each poll: orders ended so far, orders in all, seconds left before the deadline."""


async def wait_settled(path: Path, order_ids: Iterable[str], deadline_s: float, attention_grace_s: float = 0.0,
                       progress: Progress | None = None) -> bool:  # fmt: skip
    """Poll until every order has a final status, or the deadline passes.

    An order parked as needing attention is final, but a scenario may give such orders a grace period
    to finish on their own (a slow service the deadline watcher reported, say)."""
    ids = set(order_ids)
    end = time.monotonic() + deadline_s
    parked_since: float | None = None
    while time.monotonic() < end:
        current = statuses_now(path)
        final = {o for o in ids if current.get(o) in FINAL_STATUSES}
        if progress is not None:
            progress(len(final), len(ids), end - time.monotonic())
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
    """What the choreography deadline watcher reported (read from the order service's database)."""
    with read_only(path) as db:
        return [asdict(alert) for alert in read_alerts(db)]
