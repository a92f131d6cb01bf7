"""How a delivery's work reaches the disk: the ``Committer`` seam, one transaction per delivery, or group commit.

Group commit (the host's default): the deliveries that reach the commit in the same turn of the event loop
share one local transaction, each inside its own savepoint. Under load this turns a commit per message into a
commit per handful of messages (one fsync for many, which is what ``sagalab bench`` measures); with one message
in flight it is exactly one transaction, as ``OneByOne`` would do (and no savepoint). A failing piece of work is
rolled back to its savepoint alone and gets its exception; the others commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from shared.stores.sqlite import Database

Work = Callable[[sqlite3.Connection], Any]
RideAlong = Callable[[sqlite3.Connection], None]
"""Work that rides along with every transaction (recording confirmed publishes)."""


class Committer(Protocol):
    """Runs one delivery's work in a local transaction; the awaitable resolves once it has committed."""

    def run(self, work: Work) -> Awaitable[Any]: ...


class OneByOne:
    """One transaction per delivery: the plain rule, with nothing to tune."""

    def __init__(self, db: Database, also: RideAlong | None = None) -> None:
        self.db = db
        self.also = also

    def run(self, work: Work) -> Awaitable[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        _settle(future, *_alone(self.db, self.also, work))
        return future


def _alone(db: Database, also: RideAlong | None, work: Work) -> tuple[Any, BaseException | None]:
    """One piece of work in a transaction of its own: (its result, None), or (None, why it was rolled back)."""
    try:
        with db.transaction() as conn:
            result = work(conn)
            if also is not None:
                also(conn)
    except Exception as exc:
        return None, exc
    return result, None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommit:
    """Deliveries committing in the same loop turn share one transaction (see the module docstring)."""

    def __init__(self, db: Database, also: RideAlong | None = None, alone: Callable[[], bool] = lambda: False) -> None:
        self.db = db
        self.also = also
        self.alone = alone
        """Whether nothing else is in flight: then there is nobody to wait for, so commit right now and save
        the latency of a loop turn (one order at a time pays every hop's turn)."""
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []

    def run(self, work: Work) -> asyncio.Future[Any]:
        """Queue work for the next group transaction; the future resolves once it has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            if self.alone():
                self._pending.append((work, future))
                self._commit()
                return future
            loop.call_soon(self._commit)
        self._pending.append((work, future))
        return future

    def _commit(self) -> None:
        pending, self._pending = self._pending, []
        if len(pending) == 1:
            # A group of one needs no savepoint: its failure rolls back a transaction that held nothing else
            # (the confirmed publishes that would have ridden along stay queued for the next commit).
            work, future = pending[0]
            _settle(future, *_alone(self.db, self.also, work))
            return
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
            _settle(future, result, error)
