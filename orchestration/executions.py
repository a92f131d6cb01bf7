"""Where executions live between steps: Standard persists every step, Express keeps them in memory.

Standard (``DurableExecutions``) writes the execution and its new history events in the same local
transaction as the step's inbox row and outgoing commands, so a restarted orchestrator continues
exactly where it stopped. Express (``InMemoryExecutions``) keeps running executions in memory and writes
only the finished execution and its whole history (as Step Functions Express logs to CloudWatch); after
a crash the execution runs again from the start, and the participants' inboxes keep the effects single.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Literal, Protocol

from orchestration import store
from orchestration.asl import Execution, HistoryEvent, Step

Workflow = Literal["standard", "express"]
WORKFLOWS: tuple[Workflow, ...] = ("standard", "express")


class Executions(Protocol):
    workflow: Workflow

    def load(self, conn: sqlite3.Connection, execution_id: str) -> Execution | None: ...
    def record(self, conn: sqlite3.Connection, step: Step) -> None: ...
    def due(self, conn: sqlite3.Connection, now: datetime) -> list[str]: ...
    def next_wake(self, conn: sqlite3.Connection) -> float | None: ...


class DurableExecutions:
    workflow: Workflow = "standard"

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, Execution]] = {}
        """Running executions as last stored, with their text: reading the text back and finding it
        unchanged (no other instance stepped it) saves parsing it again."""

    def load(self, conn: sqlite3.Connection, execution_id: str) -> Execution | None:
        text = store.load_text(conn, execution_id)
        if text is None:
            return None
        cached = self._parsed.get(execution_id)
        if cached is not None and cached[0] == text:
            return cached[1]
        return Execution.model_validate_json(text)

    def record(self, conn: sqlite3.Connection, step: Step) -> None:
        execution = step.execution
        text = store.save(conn, execution)
        if execution.status == "RUNNING":
            self._parsed[execution.execution_id] = (text, execution)
        else:
            self._parsed.pop(execution.execution_id, None)
        store.append_history(conn, execution.execution_id, step.events)

    def due(self, conn: sqlite3.Connection, now: datetime) -> list[str]:
        return store.due(conn, now)

    def next_wake(self, conn: sqlite3.Connection) -> float | None:
        return store.next_wake(conn)


class InMemoryExecutions:
    workflow: Workflow = "express"

    def __init__(self) -> None:
        self.running: dict[str, Execution] = {}
        self.history: dict[str, list[HistoryEvent]] = {}

    def load(self, conn: sqlite3.Connection, execution_id: str) -> Execution | None:
        """A running execution from memory, or a finished one from its log in the database."""
        return self.running.get(execution_id) or store.load(conn, execution_id)

    def record(self, conn: sqlite3.Connection, step: Step) -> None:
        execution = step.execution
        key = execution.execution_id
        self.history.setdefault(key, []).extend(step.events)
        if execution.status == "RUNNING":
            self.running[key] = execution
            return
        self.running.pop(key, None)
        store.save(conn, execution)
        store.append_history(conn, key, self.history.pop(key, []))

    def due(self, conn: sqlite3.Connection, now: datetime) -> list[str]:
        return [k for k, e in self.running.items() if e.wake_at is not None and e.wake_at <= now]

    def next_wake(self, conn: sqlite3.Connection) -> float | None:
        wakes = [e.wake_at.timestamp() for e in self.running.values() if e.wake_at is not None]
        return min(wakes, default=None)


def executions_for(workflow: Workflow) -> Executions:
    return DurableExecutions() if workflow == "standard" else InMemoryExecutions()
