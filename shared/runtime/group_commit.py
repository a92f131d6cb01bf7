"""Group commit: the deliveries that reach the commit in the same turn of the event loop share one local
transaction, each inside its own savepoint.

Under load this turns a commit per message into a commit per handful of messages; with one message in
flight it is exactly one transaction, as before. A failing piece of work is rolled back to its savepoint
alone and gets its exception; the others commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from shared.stores.sqlite import Database

Work = Callable[[sqlite3.Connection], Any]


class GroupCommit:
    def __init__(self, db: Database, also: Callable[[sqlite3.Connection], None] | None = None) -> None:
        self.db = db
        self.also = also
        """Work that rides along with every group transaction (recording confirmed publishes)."""
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []

    def run(self, work: Work, alone: bool = False) -> asyncio.Future[Any]:
        """Queue work for the next group transaction; the future resolves once it has committed.

        ``alone``: nothing else is in flight, so there is nobody to wait for; commit right now and save
        the latency of a loop turn (one order at a time pays every hop's turn)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            if alone:
                self._pending.append((work, future))
                self._commit()
                return future
            loop.call_soon(self._commit)
        self._pending.append((work, future))
        return future

    def _commit(self) -> None:
        pending, self._pending = self._pending, []
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            with self.db.transaction() as conn:
                for work, future in pending:
                    conn.execute("SAVEPOINT delivery")
                    try:
                        result = work(conn)
                    except Exception as exc:
                        conn.execute("ROLLBACK TO delivery")
                        conn.execute("RELEASE delivery")
                        outcomes.append((future, None, exc))
                    else:
                        conn.execute("RELEASE delivery")
                        outcomes.append((future, result, None))
                if self.also is not None:
                    self.also(conn)
        except Exception as exc:  # the commit itself failed: nothing of this group happened
            outcomes = [(future, None, exc) for _, future in pending]
        for future, result, error in outcomes:
            if future.cancelled():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
