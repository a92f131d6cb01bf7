"""Pinned definitions: every execution runs to its end on the definition it started on.

An execution records the digest of its definition when it starts, and the definition's text is stored once
per digest, in the same local transaction. Replies, timers, a restart (Standard) and a re-run of a
redelivered order (Express) all look the definition up by that pin, so editing the file changes only the
executions that start afterwards. A pin that cannot be used (its text missing, or no longer compiling) is
reported as ``UnusableDefinition`` and the orchestrator parks the execution instead of guessing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.asl import DefinitionError, Interpreter, StateMachine, load_definition
from orchestration.resources import ResourceMap

DEFINITIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS definitions (
    digest TEXT PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL, stored_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pins (execution_id TEXT PRIMARY KEY, digest TEXT NOT NULL);
"""
"""``pins`` is written when an execution starts, before anything is sent: Express keeps its running
executions in memory, so the pin is what tells a re-run of a redelivered order which definition it began on."""


class UnusableDefinition(Exception):
    """An execution's pinned definition cannot be run (missing, or it no longer loads)."""


@dataclass(frozen=True)
class Definition:
    """A definition as the orchestrator runs it: where it came from, its text, digest and compiled machine."""

    name: str
    text: str
    digest: str
    machine: StateMachine = field(compare=False, repr=False)

    @classmethod
    def compile(cls, name: str, text: str, resources: ResourceMap, origin: str | None = None) -> Definition:
        """Load and check a definition's text, including that every static Task resource is bound."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DefinitionError([f"Top level: '{origin or name}' is not valid JSON ({exc})"]) from None
        if not isinstance(raw, dict):
            raise DefinitionError(["Top level: the definition must be a JSON object"])
        machine = load_definition(raw)
        tasks = _raw_tasks(raw["States"])
        problems = resources.check(tasks)
        if problems:
            raise DefinitionError(problems)
        return cls(name, text, digest_of(text), machine)

    @classmethod
    def from_file(cls, path: Path, resources: ResourceMap) -> Definition:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DefinitionError([f"Top level: the definition file cannot be read ({exc})"]) from None
        return cls.compile(path.name, text, resources, origin=str(path))

    @property
    def short(self) -> str:
        return f"sha256:{self.digest[:12]}"


def _raw_tasks(states: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(name, Resource, Parameters or a JSONata state's Arguments) of every Task, including those in Parallel branches
    and Map processors."""
    found = []
    for name, state in states.items():
        if state["Type"] == "Task":
            found.append((name, state["Resource"], state.get("Parameters", state.get("Arguments"))))
        for nested in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
            if isinstance(nested, dict):
                found.extend(_raw_tasks(nested["States"]))
    return found


def digest_of(text: str) -> str:
    """SHA-256 of the definition as JSON with sorted keys: reformatting the file does not make a new version."""
    try:
        canonical = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    except json.JSONDecodeError:
        canonical = text
    return hashlib.sha256(canonical.encode()).hexdigest()


def pin(conn: sqlite3.Connection, execution_id: str, definition: Definition) -> bool:
    """Record that `execution_id` runs on `definition` (its text stored once per digest), unless it is pinned
    already (an execution's pin never moves); says whether this pinned it."""
    cur = conn.execute("INSERT OR IGNORE INTO pins VALUES (?, ?)", (execution_id, definition.digest))
    if cur.rowcount != 1:
        return False
    conn.execute(
        "INSERT OR IGNORE INTO definitions (digest, name, text, stored_at) VALUES (?, ?, ?, ?)",
        (definition.digest, definition.name, definition.text, time.time()),
    )
    return True


@dataclass(frozen=True)
class PinnedRecord:
    """What the store says about an execution's definition (the text is None when it went missing)."""

    digest: str
    name: str | None
    text: str | None


def pinned(conn: sqlite3.Connection, execution_id: str) -> PinnedRecord | None:
    """The definition `execution_id` was pinned to, or None if it has no pin."""
    row = conn.execute(
        "SELECT p.digest, d.name, d.text FROM pins p LEFT JOIN definitions d ON d.digest = p.digest"
        " WHERE p.execution_id = ?",
        (execution_id,),
    ).fetchone()
    return PinnedRecord(*row) if row else None


class PinnedInterpreters:
    """One interpreter per pinned digest; the current definition is the one new executions pin."""

    def __init__(self, current: Definition, resources: ResourceMap, pinning: bool = True) -> None:
        self.current = current
        self.resources = resources
        self.pinning = pinning
        """Off (``--unsafe no-pinning``): every execution runs on the current definition, as before pins."""
        self._by_digest: dict[str, Interpreter] = {current.digest: Interpreter(current.machine)}
        self._by_execution: dict[str, str] = {}

    def for_start(self, conn: sqlite3.Connection, execution_id: str) -> Interpreter:
        """The interpreter an execution starts (or, for Express, starts again) on: its pin if it has one
        (a redelivered order re-runs on the definition it first started on), else the current one, pinned now."""
        if self.pinning and pin(conn, execution_id, self.current):  # a pin it had already stays
            self._by_execution[execution_id] = self.current.digest
        return self.for_execution(conn, execution_id)

    def for_execution(self, conn: sqlite3.Connection, execution_id: str) -> Interpreter:
        """The interpreter of the definition `execution_id` is pinned to; raises UnusableDefinition."""
        if not self.pinning:
            return self._by_digest[self.current.digest]
        digest = self._by_execution.get(execution_id)
        if digest is None:
            digest = self._load(conn, execution_id)
            self._by_execution[execution_id] = digest
        return self._by_digest[digest]

    def forget(self, execution_id: str) -> None:
        """The execution finished: its pin stays in the store, not in memory."""
        self._by_execution.pop(execution_id, None)

    def _load(self, conn: sqlite3.Connection, execution_id: str) -> str:
        record = pinned(conn, execution_id)
        if record is None:
            raise UnusableDefinition(f"execution {execution_id} has no pinned definition")
        if record.digest in self._by_digest:
            return record.digest
        if record.text is None:
            raise UnusableDefinition(f"pinned definition sha256:{record.digest[:12]} is missing from the store")
        try:
            definition = Definition.compile(record.name or "?", record.text, self.resources)
        except (DefinitionError, ValueError, KeyError, TypeError) as exc:
            reason = f"pinned definition {record.name} sha256:{record.digest[:12]} cannot be loaded: {exc}"
            raise UnusableDefinition(reason) from None
        if definition.digest != record.digest:
            raise UnusableDefinition(f"pinned definition sha256:{record.digest[:12]} was altered in the store")
        self._by_digest[record.digest] = Interpreter(definition.machine)
        return record.digest
