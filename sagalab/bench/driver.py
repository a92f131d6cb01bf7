"""The closed-loop driver: keep C orders in flight, placing one more each time one settles.

Completion is read where the system itself records it, the coordinator's ``orders`` table (or the raw
chain's): each poll fetches the rows settled since the last one seen. An order's latency is its
``settled_at`` minus the moment the driver placed it; throughput is orders over the span from the first
placement to the last settlement.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sagalab.bench.stats import throughput
from shared.stores.location import database_exists
from shared.stores.orders import OrdersView
from shared.stores.read import ReadOnly

SETTLE_ORDER_SLACK_S = 0.1
"""How far back each poll looks before the newest ``settled_at`` seen: commits of a timestamp taken a
little earlier (another process's transaction) are still found; the rows already seen are skipped."""


class SettledRows:
    """Reads the rows of an ``orders`` table settled since the last poll, over one read-only connection.

    A file not created yet is nothing settled yet; a file without the table is a StoreSchemaError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: ReadOnly | None = None
        self._newest = 0.0
        self._seen: set[str] = set()

    def poll(self) -> list[tuple[str, float]]:
        """Orders settled since the previous poll, each reported once: ``(order_id, settled_at)``."""
        if self._db is None:
            if not database_exists(self.path):
                return []
            self._db = ReadOnly(self.path)
        try:
            rows = OrdersView(self._db).settled_since(self._newest - SETTLE_ORDER_SLACK_S)
        except sqlite3.OperationalError:
            return []  # a writer held a lock for longer than the timeout: the next poll reads again
        fresh = [(order_id, at) for order_id, at in rows if order_id not in self._seen]
        for order_id, at in fresh:
            self._seen.add(order_id)
            self._newest = max(self._newest, at)
        return fresh

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


@dataclass
class Drive:
    """What the driver saw: when it placed each order and when each one settled (epoch seconds)."""

    placed_at: dict[str, float] = field(default_factory=dict)
    settled_at: dict[str, float] = field(default_factory=dict)
    total: int = 0
    rss_start: dict[str, float | None] = field(default_factory=dict)
    rss_end: dict[str, float | None] = field(default_factory=dict)
    """Resident MB of each process of the system when the drive started and when it ended (``tenths.py``)."""
    cpu_tenths_ms: list[float | None] = field(default_factory=list)
    """The system's CPU milliseconds per saga in each tenth of the drive (``measure.CpuTenths``)."""

    @property
    def complete(self) -> bool:
        return len(self.settled_at) == self.total

    @property
    def latencies_s(self) -> list[float]:
        return [self.settled_at[o] - self.placed_at[o] for o in self.settled_at if o in self.placed_at]

    @property
    def span(self) -> tuple[float, float] | None:
        if not self.placed_at or not self.settled_at:
            return None
        return min(self.placed_at.values()), max(self.settled_at.values())

    @property
    def throughput(self) -> float | None:
        span = self.span
        return throughput(len(self.settled_at), *span) if span else None


def poll_interval(concurrency: int) -> float:
    """A short poll when few orders are in flight (the next order waits for the poll); a longer one under
    load, where each poll finds several settled orders and the driver's own CPU (a scan of the
    coordinator's table) competes with the system it measures."""
    if concurrency <= 2:
        return 0.001
    return 0.005 if concurrency < 50 else 0.01


async def drive(
    order_ids: Sequence[str],
    place: Callable[[str], Awaitable[None]],
    feed: SettledRows,
    concurrency: int,
    deadline_s: float,
    on_settled: Callable[[int], None] = lambda n: None,
    poll_s: float | None = None,
    check: Callable[[], None] = lambda: None,
) -> Drive:
    """Place ``concurrency`` orders, then one more for each that settles, until all settle or the deadline.

    ``check`` runs at every poll and may raise to end the drive early (a process of the system died)."""
    result = Drive(total=len(order_ids))
    waiting: Iterator[str] = iter(order_ids)
    placing: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    def placed(task: asyncio.Task[None]) -> None:
        placing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            failures.append(task.exception())  # type: ignore[arg-type]

    async def place_one(order_id: str) -> None:
        result.placed_at[order_id] = time.time()
        await place(order_id)

    def refill(n: int) -> None:
        for _, order_id in zip(range(n), waiting, strict=False):
            task = asyncio.create_task(place_one(order_id))
            placing.add(task)
            task.add_done_callback(placed)

    refill(concurrency)
    end = time.monotonic() + deadline_s
    interval = poll_s if poll_s is not None else poll_interval(concurrency)
    try:
        while not result.complete and time.monotonic() < end:
            await asyncio.sleep(interval)  # polling the coordinator's table with a deadline
            fresh = [(o, at) for o, at in feed.poll() if o in result.placed_at]
            for order_id, at in fresh:
                result.settled_at[order_id] = at
            if fresh:
                on_settled(len(fresh))
                refill(len(fresh))
            if failures:
                raise failures[0]
            check()
        await asyncio.gather(*placing)
    finally:
        for task in placing:
            task.cancel()
    return result
