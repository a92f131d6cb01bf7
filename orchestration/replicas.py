"""Orchestrator replicas: any replica takes any reply, and a step two replicas took at once commits only once.

Each execution row is versioned (``store.save_versioned``). A route's step that finds the row moved since it
read it (``ExecutionConflict``) is rolled back to a savepoint of its own (its inbox row, history and commands with
it) and taken again from a fresh read, which usually finds the reply no longer awaited and ignores it. Timers
simply skip a conflicting wake (``Orchestrator._wake``): the other replica's step stands. On SQLite the replicas'
``BEGIN IMMEDIATE`` transactions already take turns, so the conflict is the PostgreSQL path's guard, and the
versioned write makes it one rule for both.

A lone replica (``--replicas 1``, the default) has no one to conflict with: its routes take their step without
the savepoint (two statements per step saved). Should a conflict happen there all the same, it fails the whole
delivery, whose transaction rolls back and whose message is redelivered, so nothing is lost either way.
"""

from __future__ import annotations

import structlog

from orchestration.store import ExecutionConflict
from shared.domain.contracts import Message
from shared.runtime.routes import Handle, Tx
from shared.transport.wire import Outgoing

log = structlog.get_logger()

ATTEMPTS = 5
"""Conflicts need another replica stepping the same execution in the same instant; five in a row is a bug."""


def retrying_conflicts(handle: Handle, attempts: int = ATTEMPTS, replicas: int = 2) -> Handle:
    """A route that takes its step again, from a fresh read, when another replica stepped the execution first.

    ``replicas`` is how many orchestrator processes share the database; with one, the route is ``handle`` itself."""
    if replicas == 1:
        return handle

    def run(message: Message, tx: Tx) -> list[Outgoing]:
        for attempt in range(1, attempts + 1):
            notes = len(tx.notes)
            tx.conn.execute("SAVEPOINT replica_step")
            try:
                outgoing = handle(message, tx)
            except ExecutionConflict:
                tx.conn.execute("ROLLBACK TO replica_step")
                tx.conn.execute("RELEASE replica_step")
                del tx.notes[notes:]
                if attempt == attempts:
                    raise
                log.info("another replica stepped the execution first; reading it again", attempt=attempt)
                continue
            tx.conn.execute("RELEASE replica_step")
            return outgoing
        raise AssertionError("unreachable")

    return run
