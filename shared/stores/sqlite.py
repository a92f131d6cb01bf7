"""One service's own database, with the inbox and outbox every service shares: a SQLite file, or a PostgreSQL
schema when the data folder is pinned to one (``location.py``; the SQL is written once, see ``dialect.py``).

The inbox row, the business effect and the outgoing messages commit in one local transaction; that
is what makes a redelivered message harmless and a crash after commit lossless.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.stores.dialect import POSTGRESQL, SQLITE, Dialect
from shared.stores.location import pinned
from shared.stores.postgres import open_schema
from shared.stores.read import ReadOnly
from shared.transport.wire import Outgoing, headers_json

_COMMON_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    consumer    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    handled_at  REAL NOT NULL,
    digest      TEXT,
    PRIMARY KEY (consumer, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS steps (
    consumer    TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    step        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    at          REAL NOT NULL,
    PRIMARY KEY (consumer, order_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refusals (
    consumer    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          REAL NOT NULL,
    PRIMARY KEY (consumer, message_id, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger_id     TEXT,
    exchange       TEXT NOT NULL,
    routing_key    TEXT NOT NULL,
    type           TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    body           BLOB NOT NULL,
    reply_to       TEXT,
    headers        TEXT NOT NULL,
    created_at     REAL NOT NULL,
    sent_at        REAL
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_trigger ON outbox (trigger_id);
"""


_STAGE = (
    "INSERT INTO outbox (trigger_id, exchange, routing_key, type, message_id, correlation_id,"
    " body, reply_to, headers, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
)

Seen = Literal["new", "duplicate", "reused"]
RefusalKind = Literal["refused", "ignored"]


def _add_inbox_digest(conn: sqlite3.Connection) -> None:
    """Databases written before the inbox kept a digest of each message get the column."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(inbox)")}
    if "digest" not in columns:
        conn.execute("ALTER TABLE inbox ADD COLUMN digest TEXT")


def refusal_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many messages this database's service refused and ignored (the run's result counts them)."""
    return {kind: int(n) for kind, n in conn.execute("SELECT kind, COUNT(*) FROM refusals GROUP BY kind")}


@dataclass(frozen=True)
class Refusal:
    kind: RefusalKind
    order_id: str
    reason: str = ""


class ServiceView:
    """What every service's database holds, read-only: refusals, and messages staged and handled."""

    def __init__(self, db: ReadOnly) -> None:
        self.db = db

    def refusals(self) -> list[Refusal]:
        return [Refusal(*r) for r in self.db.rows("SELECT kind, order_id, reason FROM refusals")]

    def staged_by_type(self) -> dict[str, int]:
        """How many messages of each type the outbox staged."""
        return {t: int(n) for t, n in self.db.rows("SELECT type, count(*) FROM outbox GROUP BY type")}

    def handled(self) -> int:
        """How many distinct messages the inbox recorded."""
        return int(self.db.rows("SELECT count(*) FROM inbox")[0][0])


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    message: Outgoing


class Database:
    """A service's database: open once per process, one transaction per handled message. ``path`` names the
    SQLite file, or (in a folder pinned to PostgreSQL) the service whose schema to use."""

    def __init__(self, path: Path, schema: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        store = pinned(path.parent)
        self.dialect: Dialect = SQLITE if store is None else POSTGRESQL
        self.conn: Any
        if store is not None:
            self.conn = open_schema(store.url, store.schema(path.stem), store.namespace, _COMMON_SCHEMA + schema)
            return
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9) but not a power cut; see README.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        # A group commit gives each delivery a savepoint, whose undo pages SQLite keeps in a statement journal; past
        # 64 KiB it spills that journal to a temporary file and writes every later page there (a group of 100
        # orchestrator steps: 2 of 3 page writes of the run). Kept in memory, the journal is as big as one group.
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.executescript(_COMMON_SCHEMA + schema)
        _add_inbox_digest(self.conn)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE in SQLite so that check-then-insert (the inbox) is atomic across processes too; in
        PostgreSQL the inbox's unique key does that (a second insert waits for the first to commit, then does nothing)."""
        self.conn.execute(self.dialect.begin)
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- inbox ---------------------------------------------------------------------------------

    @staticmethod
    def remember(conn: sqlite3.Connection, consumer: str, message_id: str, digest: str | None = None) -> Seen:
        """Record a message as handled: ``new``, ``duplicate`` (same id, same content) or ``reused`` (an id
        already handled with other content, which is not a duplicate but a sender's bug)."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO inbox (consumer, message_id, handled_at, digest) VALUES (?, ?, ?, ?)",
            (consumer, message_id, time.time(), digest),
        )
        if cur.rowcount == 1:
            return "new"
        row = conn.execute("SELECT digest FROM inbox WHERE consumer = ? AND message_id = ?", (consumer, message_id))
        first = row.fetchone()[0]
        return "reused" if digest and first and first != digest else "duplicate"

    # --- steps: the business key and the barrier -----------------------------------------------

    @staticmethod
    def claim_step(conn: sqlite3.Connection, consumer: str, order_id: str, step: str, message_id: str) -> str | None:
        """Record that ``message_id`` does ``step`` for the order: None if this is the first time, else the
        id of the message that did it first (perhaps this very one, redelivered with the inbox off)."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO steps (consumer, order_id, step, message_id, at) VALUES (?, ?, ?, ?, ?)",
            (consumer, order_id, step, message_id, time.time()),
        )
        if cur.rowcount == 1:
            return None
        row = conn.execute(
            "SELECT message_id FROM steps WHERE consumer = ? AND order_id = ? AND step = ?", (consumer, order_id, step)
        ).fetchone()
        return str(row[0])

    @staticmethod
    def step_done(conn: sqlite3.Connection, consumer: str, order_id: str, step: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM steps WHERE consumer = ? AND order_id = ? AND step = ?", (consumer, order_id, step)
        ).fetchone()
        return row is not None

    @staticmethod
    def note_refusal(conn: sqlite3.Connection, consumer: str, message_id: str, kind: RefusalKind, order_id: str,
                     reason: str) -> None:  # fmt: skip
        """Count a message refused (a forward step after its compensation) or ignored (answered, no effect)."""
        conn.execute(
            "INSERT OR IGNORE INTO refusals (consumer, message_id, kind, order_id, reason, at) VALUES (?,?,?,?,?,?)",
            (consumer, message_id, kind, order_id, reason, time.time()),
        )

    # --- outbox --------------------------------------------------------------------------------

    @staticmethod
    def stage(conn: sqlite3.Connection, trigger_id: str | None, messages: Iterable[Outgoing]) -> list[int]:
        """Write outgoing messages in the caller's transaction; returns their sequence numbers."""
        now = time.time()
        # SQLite names the new row's key on the cursor; PostgreSQL has no such thing, so there it is RETURNed.
        on_sqlite = isinstance(conn, sqlite3.Connection)
        insert = _STAGE if on_sqlite else _STAGE + " RETURNING seq"
        seqs = []
        for m in messages:
            cur = conn.execute(insert, (trigger_id, m.exchange, m.routing_key, m.type, m.message_id, m.correlation_id,
                                        m.body, m.reply_to, headers_json(m.headers), now))  # fmt: skip
            seq = cur.lastrowid if on_sqlite else cur.fetchone()[0]
            assert seq is not None  # an INSERT always names its row
            seqs.append(int(seq))
        return seqs

    def mark_sent(self, seqs: Iterable[int]) -> None:
        seqs = list(seqs)
        if seqs:
            with self.transaction() as conn:
                self.mark_sent_in(conn, seqs)

    @staticmethod
    def mark_sent_in(conn: sqlite3.Connection, seqs: Iterable[int]) -> None:
        now = time.time()
        conn.executemany("UPDATE outbox SET sent_at = ? WHERE seq = ?", [(now, s) for s in seqs])

    def unsent(self, older_than_s: float = 0.0, limit: int = 500) -> list[OutboxRow]:
        """Staged messages not yet confirmed by the broker, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM outbox WHERE sent_at IS NULL AND created_at <= ? ORDER BY seq LIMIT ?",
            (time.time() - older_than_s, limit),
        )
        return [_row(r) for r in rows]

    def staged_for(self, trigger_id: str) -> list[OutboxRow]:
        """What handling ``trigger_id`` sent: replayed when the same command arrives again."""
        rows = self.conn.execute("SELECT * FROM outbox WHERE trigger_id = ? ORDER BY seq", (trigger_id,))
        return [_row(r) for r in rows]


def _row(r: tuple) -> OutboxRow:  # type: ignore[type-arg]
    seq, _trigger, exchange, key, type_, message_id, correlation_id, body, reply_to, headers, *_ = r
    return OutboxRow(
        seq=seq,
        message=Outgoing(
            exchange=exchange,
            routing_key=key,
            type=type_,
            message_id=message_id,
            correlation_id=correlation_id,
            body=bytes(body),
            reply_to=reply_to,
            headers=json.loads(headers),
        ),
    )
