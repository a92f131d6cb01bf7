"""Where a data folder's service databases live: SQLite files in the folder (the default), or PostgreSQL.

A folder whose databases live in PostgreSQL holds a ``store.json`` saying where (the URL, and the schema prefix
of the run); every writer and reader that is handed ``<folder>/<service>.db`` looks there first, so the lab's
read side (oracle, settle, ledger, history, trace) follows a run to PostgreSQL without being told. The file holds
the URL as given: a password in it is written to the run folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from shared.stores.postgres import schema_exists, schema_name, shared_reader

STORE_FILE = "store.json"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class BadStore(ValueError):
    """A ``--store`` value that is neither SQLite nor a PostgreSQL URL."""


def parse_store(value: str | None) -> str | None:
    """A PostgreSQL URL, or None for SQLite files (``sqlite``, empty, or unset)."""
    if value is None or value.strip() in ("", "sqlite"):
        return None
    if value.startswith(POSTGRES_SCHEMES):
        return value
    raise BadStore(f"--store {value!r}: 'sqlite' (the default) or a URL postgresql://user@host:port/database")


def default_store() -> str | None:
    """``SAGALAB_STORE`` (the default of every ``--store``), checked like the option."""
    return parse_store(os.environ.get("SAGALAB_STORE"))


@dataclass(frozen=True)
class PgStore:
    """A data folder's databases in PostgreSQL: one schema per service, named ``<prefix>:<service>``."""

    url: str
    namespace: str
    prefix: str

    def schema(self, service: str) -> str:
        return schema_name(self.prefix, service)


def pin(data_dir: Path, url: str, namespace: str, prefix: str | None = None) -> PgStore:
    """Say that this folder's databases live in PostgreSQL (before any service of the folder starts)."""
    store = PgStore(url, namespace, prefix or namespace)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / STORE_FILE).write_text(json.dumps({"url": url, "namespace": namespace, "prefix": store.prefix}))
    return store


def pinned(data_dir: Path) -> PgStore | None:
    """The folder's PostgreSQL store, or None when its databases are SQLite files."""
    try:
        found = json.loads((data_dir / STORE_FILE).read_text())
    except FileNotFoundError:
        return None
    return PgStore(found["url"], found["namespace"], found["prefix"])


def database_exists(path: Path) -> bool:
    """Whether ``<folder>/<service>.db`` exists as a file or, for a pinned folder, as a schema."""
    store = pinned(path.parent)
    if store is None:
        return path.exists()
    return schema_exists(shared_reader(store.url), store.schema(path.stem))
