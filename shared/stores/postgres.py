"""PostgreSQL as a service's store: one schema per service of a namespace, reached through a connection that
speaks like ``sqlite3.Connection`` (``execute`` with ``?`` placeholders) so every query is written once.

Schemas are named ``<namespace>[:<run>]:<service>`` (quoted: namespaces hold '.' and '-'), shortened with a
digest when that passes PostgreSQL's 63 bytes, and carry a comment naming their namespace, which is how
``sagalab clean`` finds and drops them. The schema and its tables are created at start, idempotently, under an
advisory lock (replicas of one service start together). psycopg is imported only when a PostgreSQL store is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from shared.stores.dialect import POSTGRESQL

if TYPE_CHECKING:
    import psycopg

_MAX_IDENTIFIER = 63
_COMMENT = "sagalab namespace "


class PostgresUnavailable(Exception):
    """The PostgreSQL server of a ``--store`` URL cannot be reached."""


def schema_name(prefix: str, service: str) -> str:
    """The schema of one service under a prefix (the namespace, and the run's token when a run pins one)."""
    name = f"{prefix}:{service}"
    if len(name.encode()) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:10]
    keep = _MAX_IDENTIFIER - len(service) - len(digest) - 2
    return f"{prefix[:keep]}~{digest}:{service}"


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _psycopg() -> Any:
    """psycopg, loaded on first use: it takes a tenth of a second or more to import, and only a PostgreSQL store
    needs it (every service process of a SQLite run would pay it at each start)."""
    import psycopg

    return psycopg


def missing_table_or_column() -> tuple[type[Exception], ...]:
    """What PostgreSQL raises for a query naming a table or column its schema lacks."""
    errors = _psycopg().errors
    return errors.UndefinedTable, errors.UndefinedColumn


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection (transactions are begun explicitly, as with SQLite's isolation_level=None)."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="sagalab")
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(f"cannot reach PostgreSQL at {_masked(url)}: {str(exc).strip()}") from None


def _masked(url: str) -> str:
    scheme, _, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}://{creds.split(':')[0]}:***@{host}" if at and ":" in creds else url


_readers: dict[str, psycopg.Connection[Any]] = {}


def shared_reader(url: str) -> psycopg.Connection[Any]:
    """One read-only PostgreSQL connection per URL for the whole process: the lab polls (settle, the bench) every
    few milliseconds, and a connection per poll would cost a server process each time."""
    reader = _readers.get(url)
    if reader is None or reader.closed:
        reader = _readers[url] = connect(url)
        reader.execute("SET default_transaction_read_only = on")
    return reader


class PgConnection:
    """A psycopg connection that takes the stores' SQLite-spelled SQL (see ``dialect.py``)."""

    dialect = POSTGRESQL

    def __init__(self, raw: psycopg.Connection[Any], schema: str) -> None:
        self.raw = raw
        self.schema = schema

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(POSTGRESQL.query(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(POSTGRESQL.query(sql), [tuple(r) for r in rows])

    def executescript(self, ddl: str) -> None:
        self.raw.execute(POSTGRESQL.schema(ddl))  # type: ignore[arg-type]

    def close(self) -> None:
        self.raw.close()


def open_schema(url: str, schema: str, namespace: str, ddl: str) -> PgConnection:
    """Connect, create the schema and apply ``ddl`` (idempotent), and work inside that schema from then on."""
    raw = connect(url)
    with raw.transaction():
        raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
        raw.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")  # type: ignore[arg-type]
        raw.execute(f"COMMENT ON SCHEMA {quoted(schema)} IS {_literal(_COMMENT + namespace)}")  # type: ignore[arg-type]
        raw.execute(f"SET LOCAL search_path TO {quoted(schema)}")  # type: ignore[arg-type]
        raw.execute(POSTGRESQL.schema(ddl))  # type: ignore[arg-type]
    raw.execute(f"SET search_path TO {quoted(schema)}")  # type: ignore[arg-type]
    return PgConnection(raw, schema)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def schema_exists(raw: psycopg.Connection[Any], schema: str) -> bool:
    return raw.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def namespace_schemas(url: str, namespace: str) -> list[str]:
    """Every schema sagalab made for ``namespace`` (found by the comment it left on each)."""
    with connect(url) as raw:
        rows = raw.execute(
            "SELECT nspname FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') = %s ORDER BY nspname",
            (_COMMENT + namespace,),
        ).fetchall()
    return [r[0] for r in rows]


def drop_namespace(url: str, namespace: str) -> list[str]:
    """Drop the namespace's schemas and everything in them; returns their names."""
    schemas = namespace_schemas(url, namespace)
    if schemas:
        with connect(url) as raw:
            raw.execute(f"DROP SCHEMA IF EXISTS {', '.join(quoted(s) for s in schemas)} CASCADE")  # type: ignore[arg-type]
    return schemas
