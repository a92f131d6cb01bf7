"""Reading another service's database: opened read-only, and loud when it is not the database expected.

The lab (oracle, settle, assess, attach, bench, history) reads the services' databases after or while
they run: SQLite files, or the PostgreSQL schemas a folder's ``store.json`` points to (``location.py``). A
read that quietly turned a missing table into "no rows" would let a renamed column make the consistency
oracle judge empty ledgers and say "ok"; here a missing file, schema, table or column raises
``StoreSchemaError`` naming the file and what it lacks. The queries themselves live beside each schema.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.stores.location import pinned
from shared.stores.postgres import PgConnection, missing_table_or_column, quoted, schema_exists, shared_reader

_SCHEMA_PROBLEM = re.compile(r"no such (table|column): (\S+)")


class StoreSchemaError(Exception):
    """A service database is missing, or lacks a table or column its readers need."""


class ReadOnly:
    """One service's database, opened read-only (a file with ``mode=ro``, or a read-only PostgreSQL session):
    it never creates or changes anything."""

    def __init__(self, path: Path, service: str | None = None, timeout_s: float = 5.0) -> None:
        service = service or path.stem  # each service's file (or schema) is named after it
        self.path = path
        self.service = service
        store = pinned(path.parent)
        if store is None:
            if not path.exists():
                raise StoreSchemaError(f"{path} does not exist (did the {service} service ever start?)")
            self.conn: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s)
            self._shared = False
            return
        raw, schema = shared_reader(store.url), store.schema(path.stem)
        if not schema_exists(raw, schema):
            raise StoreSchemaError(f"PostgreSQL schema {schema} does not exist (did the {service} service ever start?)")
        self.conn = _SchemaReader(PgConnection(raw, schema))
        self._shared = True

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a query; a table or column it names but the file lacks is a StoreSchemaError, not no rows."""
        try:
            return list(self.conn.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:
            raise self._schema_error(exc) from exc

    def _schema_error(self, exc: sqlite3.OperationalError) -> Exception:
        found = _SCHEMA_PROBLEM.match(str(exc))
        if found is None:
            return exc  # not a schema problem (a lock held past the timeout, say): the caller decides
        what, name = found.groups()
        return StoreSchemaError(f"{self.path.name} has no {what} {name} (is this a sagalab {self.service} database?)")

    def close(self) -> None:
        if not self._shared:
            self.conn.close()


class _SchemaReader:
    """Reads one schema through the process's shared connection: names the schema in each query's search path,
    and turns PostgreSQL's missing table or column into the same StoreSchemaError as SQLite's."""

    def __init__(self, conn: Any) -> None:
        self.inner = conn

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        try:
            self.inner.raw.execute(f"SET search_path TO {quoted(self.inner.schema)}")
            return self.inner.execute(sql, params)
        except missing_table_or_column() as exc:
            raise StoreSchemaError(f"schema {self.inner.schema} lacks what this reads: {str(exc).splitlines()[0]} "
                                   f"(is this a sagalab database?)") from exc  # fmt: skip


@contextmanager
def read_only(path: Path, service: str | None = None, timeout_s: float = 5.0) -> Iterator[ReadOnly]:
    """A ``ReadOnly`` for the length of a ``with`` block."""
    db = ReadOnly(path, service, timeout_s)
    try:
        yield db
    finally:
        db.close()


def snapshot(source: Path, into: Path) -> None:
    """Copy a live service database as it is now (SQLite's online backup), for reading it at leisure."""
    with read_only(source) as db, sqlite3.connect(into) as copy:
        db.conn.backup(copy)
    copy.close()
