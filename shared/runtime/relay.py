"""The outbox relay: publishes staged messages with confirms and marks them sent only after the confirm.

The host hands each transaction's messages to ``send`` right after the commit (the fast path); a sweep
republishes whatever is still unsent (a crash between commit and publish, a dropped connection). A
message may therefore be published twice; every consumer's inbox drops the second copy.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from typing import Protocol

import structlog

from shared.stores.sqlite import Database, OutboxRow
from shared.transport.broker import Broker, PublishFailed
from shared.transport.wire import Outgoing

log = structlog.get_logger()


class PublishFaults(Protocol):
    """The part of a service's fault hooks that strikes what it publishes (``shared/runtime/faults.py``)."""

    async def outgoing(self, out: Outgoing) -> bool: ...
    async def sent(self, out: Outgoing) -> None: ...


class _Faultless:
    async def outgoing(self, out: Outgoing) -> bool:
        return True

    async def sent(self, out: Outgoing) -> None:
        return None


class OutboxRelay:
    def __init__(self, db: Database, broker: Broker, sweep_after_s: float = 1.0,
                 faults: PublishFaults | None = None) -> None:  # fmt: skip
        self.db = db
        self.broker = broker
        self.faults: PublishFaults = faults or _Faultless()
        self.sweep_after_s = sweep_after_s
        self._in_flight: set[int] = set()
        self._confirmed: list[int] = []
        self._refused: set[int] = set()
        """Rows this process tried to publish and the broker did not confirm: ``drain`` sends them at once."""

    async def send(self, rows: Sequence[OutboxRow]) -> bool:
        """Publish rows now; True if the broker confirmed them all (the rest wait for the sweep)."""
        rows = [r for r in rows if r.seq not in self._in_flight]
        if not rows:
            return True
        self._in_flight.update(r.seq for r in rows)
        try:
            if len(rows) == 1:  # the common case: no gather, no extra task
                return await self._publish(rows[0])
            results = await asyncio.gather(*(self._publish(r) for r in rows))
        finally:
            self._in_flight.difference_update(r.seq for r in rows)
        return all(results)

    async def _publish(self, row: OutboxRow) -> bool:
        try:
            if await self.faults.outgoing(row.message):
                await self.broker.publish(row.message)
                await self.faults.sent(row.message)
        except PublishFailed as exc:
            log.warning("publish failed; the relay will retry", error=str(exc))
            self._refused.add(row.seq)
            return False
        self._refused.discard(row.seq)
        self._confirmed.append(row.seq)  # a message a fault lost counts as sent: the relay believes it went
        return True

    def flush(self) -> None:
        """Record confirmed publishes in the outbox, in one small transaction."""
        if self._confirmed:
            seqs, self._confirmed = self._confirmed, []
            self.db.mark_sent(seqs)

    def flush_into(self, conn: sqlite3.Connection) -> None:
        """Record confirmed publishes inside a transaction that is committing anyway (the next group
        commit), so a busy service spends no transaction of its own on them."""
        if self._confirmed:
            seqs, self._confirmed = self._confirmed, []
            Database.mark_sent_in(conn, seqs)

    async def sweep(self, older_than_s: float | None = None) -> int:
        """Republish every staged message older than the threshold that is not being sent right now."""
        self.flush()
        rows = self.db.unsent(self.sweep_after_s if older_than_s is None else older_than_s)
        rows = [r for r in rows if r.seq not in self._in_flight]
        if rows:
            log.info("relay republishing unsent messages", count=len(rows))
            await self.send(rows)
            self.flush()
        return len(rows)

    async def run(self, stopping: asyncio.Event, flush_every_s: float = 0.1) -> None:
        """Background loop: record confirmed publishes in batches (one small transaction per tenth of a
        second, not one per message), and sweep now and then."""
        last_sweep = time.monotonic()
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), timeout=flush_every_s)
            except TimeoutError:
                pass
            self.flush()
            if time.monotonic() - last_sweep > self.sweep_after_s:
                last_sweep = time.monotonic()
                await self.sweep()

    async def drain(self, deadline_s: float = 5.0) -> None:
        """At shutdown: publish what this process could not (the broker refused it) and whatever the sweep would,
        give up after the deadline (it stays staged). A fresh row another replica of the service staged is left
        to that replica, which is publishing it right now: sending it too would only make a copy."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            self.flush()
            unsent = self.db.unsent(0.0)
            self._refused &= {r.seq for r in unsent}  # another replica's sweep may have sent one since
            refused = [r for r in unsent if r.seq in self._refused and r.seq not in self._in_flight]
            if refused:
                await self.send(refused)
                self.flush()
            if await self.sweep() == 0 and not self._refused:
                return
            await asyncio.sleep(0.1)  # the broker refused some; give it a moment
