"""The committer seam: one transaction per delivery, or deliveries of one loop turn grouped in one transaction
where a failing piece is rolled back alone."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.runtime.group_commit import Committer, GroupCommit, OneByOne
from shared.stores.sqlite import Database


class CountingDatabase(Database):
    """A database that counts the transactions it opened."""

    transactions = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.transactions += 1
        with super().transaction() as conn:
            yield conn


@pytest.fixture
def db(tmp_path: Path) -> Iterator[CountingDatabase]:
    database = CountingDatabase(tmp_path / "t.db", "CREATE TABLE IF NOT EXISTS t (v TEXT);")
    yield database
    database.close()


def _insert(value: str):  # type: ignore[no-untyped-def]
    def work(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        if value == "bad":
            raise RuntimeError("a handler bug")
        return value

    return work


def _rows(db: Database) -> list[str]:
    return sorted(v for (v,) in db.conn.execute("SELECT v FROM t"))


async def _three(committer: Committer) -> list[object]:
    return await asyncio.gather(*(committer.run(_insert(v)) for v in ("a", "bad", "b")), return_exceptions=True)


async def test_group_commit_shares_one_transaction_and_rolls_back_the_failing_piece_alone(db: CountingDatabase) -> None:
    """Three deliveries in one turn: one transaction; the bug's row is gone, its neighbours committed."""
    results = await _three(GroupCommit(db))
    assert results[0] == "a" and isinstance(results[1], RuntimeError) and results[2] == "b"
    assert db.transactions == 1 and _rows(db) == ["a", "b"]


async def test_group_commit_with_nothing_else_in_flight_commits_at_once(db: CountingDatabase) -> None:
    """Alone, the work has committed before the first await: no loop turn is spent waiting for company."""
    future = GroupCommit(db, alone=lambda: True).run(_insert("a"))
    assert isinstance(future, asyncio.Future) and future.done() and _rows(db) == ["a"]


async def test_one_by_one_commits_each_delivery_in_its_own_transaction(db: CountingDatabase) -> None:
    """The plain committer: a transaction per delivery, the bug's alone rolled back."""
    ridden: list[int] = []
    results = await _three(OneByOne(db, also=lambda conn: ridden.append(1)))
    assert results[0] == "a" and isinstance(results[1], RuntimeError) and results[2] == "b"
    assert db.transactions == 3 and _rows(db) == ["a", "b"] and len(ridden) == 2


async def test_a_group_of_one_commits_without_a_savepoint_and_its_failure_leaves_nothing(db: CountingDatabase) -> None:
    """One delivery in the turn: a plain transaction, no savepoint; when it fails nothing of it stays, and the
    ride-along waits for the next commit rather than committing alone."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    ridden: list[int] = []
    committer = GroupCommit(db, also=lambda conn: ridden.append(1))
    assert await committer.run(_insert("a")) == "a"
    with pytest.raises(RuntimeError):
        await committer.run(_insert("bad"))
    assert _rows(db) == ["a"] and db.transactions == 2 and ridden == [1]
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]


def _temporary_files() -> list[str]:
    """SQLite's temporary files this process holds open (unlinked at once: only /proc/self/fd still names them)."""
    fds = Path("/proc/self/fd")
    names = []
    for fd in fds.iterdir():
        try:
            names.append(os.readlink(fd))
        except OSError:
            continue  # closed since the listing
    return [n for n in names if "etilqs_" in n]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads the open files from /proc")
async def test_a_large_group_keeps_its_savepoints_journal_in_memory(tmp_path: Path) -> None:
    """Each delivery of a group has a savepoint; the pages it changes are journaled so it can be rolled back alone.
    Past 64 KiB SQLite would spill that journal to a temporary file and write every later page there too (two of
    three page writes of a loaded orchestrator). ``temp_store=MEMORY`` keeps it in memory."""
    db = Database(tmp_path / "big.db", "CREATE TABLE IF NOT EXISTS big (id INTEGER PRIMARY KEY, v TEXT);")
    with db.transaction() as conn:
        conn.executemany("INSERT INTO big VALUES (?, ?)", [(i, "x" * 2000) for i in range(600)])
    seen: list[str] = []

    def rewrite(first: int):  # type: ignore[no-untyped-def]
        def work(conn: sqlite3.Connection) -> None:
            conn.executemany("UPDATE big SET v = ? WHERE id = ?", [("y" * 2000, i) for i in range(first, first + 60)])
            seen.extend(_temporary_files())

        return work

    committer = GroupCommit(db)
    await asyncio.gather(*(committer.run(rewrite(first)) for first in range(0, 600, 60)))
    assert db.conn.execute("SELECT COUNT(*) FROM big WHERE v LIKE 'y%'").fetchone()[0] == 600
    assert seen == []
    db.close()
