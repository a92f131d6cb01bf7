"""Where executions live between steps: Standard persists every step, Express keeps them in memory.

Standard (``DurableExecutions``) writes the execution and its new history events in the same local
transaction as the step's inbox row and outgoing commands, so a restarted orchestrator continues
exactly where it stopped. Express (``InMemoryExecutions``) keeps running executions in memory and writes
only the finished execution and its whole history (as Step Functions Express logs to CloudWatch); after
a crash the execution runs again from the start, and the participants' inboxes keep the effects single.

Replicas (``--instances K``) share the orchestrator's database, and any replica may take any reply, so state kept
in one replica's memory will not do: Standard writes each step with the version it read (``store.save_versioned``),
and Express with more than one replica keeps its running executions there too (``SharedExpressExecutions``),
keeping Express's rules: no inbox, no outbox, the order acked when its execution ends, and an order that arrives
again while its execution runs (its holder crashed) runs it again from the start.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Protocol

from orchestration import store
from orchestration.asl import Execution, Step
from orchestration.processes import Workflow


class Executions(Protocol):
    workflow: Workflow
    reruns_running: bool
    """Whether a PlaceOrder for an execution still running starts it again (Express shared by replicas)."""

    def load(self, conn: sqlite3.Connection, execution_id: str) -> Execution | None: ...
    def record(self, conn: sqlite3.Connection, step: Step) -> None: ...
    def due(self, conn: sqlite3.Connection, now: datetime) -> list[str]: ...
    def next_wake(self, conn: sqlite3.Connection) -> float | None: ...
    def is_running(self, conn: sqlite3.Connection, execution_id: str) -> bool: ...


class DurableExecutions:
    workflow: Workflow = "standard"
    reruns_running = False

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, Execution]] = {}
        """Running executions as last stored, with their text: reading the text back and finding it unchanged
        (no other replica stepped it) saves parsing it again. The text, not the version: a step this process
        wrote and then rolled back leaves a version another replica may write next, never its text."""
        self._read: dict[str, int | None] = {}
        """The version each execution was read at (None: not there), which its next write must still find."""

    def load(self, conn: sqlite3.Connection, execution_id: str) -> Execution | None:
        row = store.load_versioned(conn, execution_id)
        if row is None:
            self._read[execution_id] = None
            return None
        text, version = row
        self._read[execution_id] = version
        cached = self._parsed.get(execution_id)
        if cached is not None and cached[0] == text:
            return cached[1]
        return Execution.model_validate_json(text)

    def record(self, conn: sqlite3.Connection, step: Step) -> None:
        """Write the step over the version read; raises store.ExecutionConflict if another replica moved it."""
        execution = step.execution
        key = execution.execution_id
        expected = self._read.pop(key, None)
        if expected is not None and self.reruns_running and step.events and step.events[0].type == "ExecutionStarted":
            store.forget_history(conn, key)  # the run before this one wrote its own
        try:
            text, version = store.save_versioned(conn, execution, expected)
        except store.ExecutionConflict:
            self._parsed.pop(key, None)
            raise
        if execution.status == "RUNNING":
            self._parsed[key] = (text, execution)
            self._read[key] = version  # a follow-up step in the same transaction writes over this one
        else:
            self._parsed.pop(key, None)
        store.append_history(conn, key, step.events)

    def due(self, conn: sqlite3.Connection, now: datetime) -> list[str]:
        return store.due(conn, now)

    def next_wake(self, conn: sqlite3.Connection) -> float | None:
        return store.next_wake(conn)

    def is_running(self, conn: sqlite3.Connection, execution_id: str) -> bool:
        return store.status(conn, execution_id) == "RUNNING"


class SharedExpressExecutions(DurableExecutions):
    """Express for replicas: running executions in the shared database (any replica takes any reply), each step
    written as Standard writes it; a PlaceOrder that comes back while its execution runs starts it again."""

    workflow: Workflow = "express"
    reruns_running = True


class InMemoryExecutions:
    workflow: Workflow = "express"
    reruns_running = False

    def __init__(self) -> None:
        self.running: dict[str, Execution] = {}
        self.history: dict[str, tuple[int, list[bytes]]] = {}
        """Each running execution's first event id and its events so far, each encoded once when it happened:
        bytes are not tracked by the garbage collector, where thousands of events as objects cost a young
        collection every few sagas."""

    def load(self, conn: sqlite3.Connection, execution_id: str) -> Execution | None:
        """A running execution from memory, or a finished one from its log in the database."""
        return self.running.get(execution_id) or store.load(conn, execution_id)

    def record(self, conn: sqlite3.Connection, step: Step) -> None:
        execution = step.execution
        key = execution.execution_id
        if step.events:
            kept = self.history.get(key)
            if kept is None:
                kept = self.history[key] = (step.events[0].id, [])
            kept[1].extend(map(store.encode_event, step.events))
        if execution.status == "RUNNING":
            self.running[key] = execution
            return
        self.running.pop(key, None)
        store.save(conn, execution)
        kept = self.history.pop(key, None)
        if kept is not None:
            store.write_encoded_history(conn, key, *kept)

    def due(self, conn: sqlite3.Connection, now: datetime) -> list[str]:
        return [k for k, e in self.running.items() if e.wake_at is not None and e.wake_at <= now]

    def next_wake(self, conn: sqlite3.Connection) -> float | None:
        wakes = [e.wake_at.timestamp() for e in self.running.values() if e.wake_at is not None]
        return min(wakes, default=None)

    def is_running(self, conn: sqlite3.Connection, execution_id: str) -> bool:
        return execution_id in self.running


def executions_for(workflow: Workflow, replicas: int = 1) -> Executions:
    """Where executions live; Express keeps them in memory unless several replicas must share them."""
    if workflow == "standard":
        return DurableExecutions()
    return SharedExpressExecutions() if replicas > 1 else InMemoryExecutions()
