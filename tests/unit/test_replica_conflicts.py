"""Orchestrator replicas share one database: two replicas stepping one execution from the same read commit one
step, never two (the execution row's version), and Express replicas share their running executions too."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.bootstrap import load_current
from orchestration.executions import DurableExecutions, SharedExpressExecutions, executions_for
from orchestration.orchestrator import Orchestrator
from orchestration.replicas import retrying_conflicts
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA, ExecutionConflict, history, load, load_versioned, save_versioned
from shared.domain.contracts import Message, Order, PaymentCharged, PlaceOrder
from shared.runtime.routes import Tx
from shared.stores.sqlite import Database
from shared.transport.wire import Outgoing

ORDER = Order(order_id="ord-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Oslo")  # fmt: skip


class _ReadsBeforeTheOtherCommits(DurableExecutions):
    """A replica whose read lands just before another replica commits its step of the same execution: it reads
    what was committed (as PostgreSQL's read committed does), then ``meanwhile`` runs the other replica."""

    def __init__(self, reader: sqlite3.Connection) -> None:
        super().__init__()
        self.reader = reader
        self.meanwhile: Callable[[], object] | None = None

    def load(self, conn: sqlite3.Connection, execution_id: str):  # type: ignore[no-untyped-def]
        execution = super().load(self.reader, execution_id)
        if self.meanwhile is not None:
            other, self.meanwhile = self.meanwhile, None
            other()
        return execution


def _replica(path: Path, executions: DurableExecutions | None = None) -> tuple[Orchestrator, Database]:
    db = Database(path, ORCHESTRATOR_SCHEMA)
    resources = ResourceMap()
    return Orchestrator(load_current(None, resources), resources, db, executions or DurableExecutions()), db


def _charged(charge: Outgoing, message_id: str) -> PaymentCharged:
    return PaymentCharged(message_id=message_id, correlation_id="ord-1", causation_id=charge.message_id, order=ORDER,
                          payment_id="p1", amount_cents=4999)  # fmt: skip


def _reply(replica: Orchestrator, conn: sqlite3.Connection, message: Message) -> list[Outgoing]:
    return retrying_conflicts(replica.on_reply)(message, Tx(conn, None, None, {}))


def test_a_write_over_a_stale_version_is_refused(tmp_path: Path) -> None:
    """Two writers read version 1; the first write makes it 2, the second (still naming 1) is refused, and so
    is a second insert of a new execution."""
    replica, db = _replica(tmp_path / "orchestrator.db")
    with db.transaction() as conn:
        (charge,) = replica.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {}))
    execution = load(db.conn, "ord-1")
    assert execution is not None and load_versioned(db.conn, "ord-1") is not None
    assert load_versioned(db.conn, "ord-1")[1] == 1  # type: ignore[index]
    with db.transaction() as conn:
        assert save_versioned(conn, execution, 1)[1] == 2
    with pytest.raises(ExecutionConflict), db.transaction() as conn:
        save_versioned(conn, execution, 1)
    with pytest.raises(ExecutionConflict), db.transaction() as conn:
        save_versioned(conn, execution, None)
    assert load_versioned(db.conn, "ord-1")[1] == 2  # type: ignore[index]


def test_two_replicas_racing_on_one_execution_advance_it_once(tmp_path: Path) -> None:
    """Replica A reads the execution awaiting ChargePayment; before it writes, replica B applies the reply and
    commits. A, holding a copy of the reply under another message id (as a participant's answer sent again
    may be), would step the same state again: its versioned write is refused, it reads the execution again,
    finds the charge no longer awaited and sends nothing. One ReserveStock, one TaskSucceeded."""
    path = tmp_path / "orchestrator.db"
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    a, db_a = _replica(path, _ReadsBeforeTheOtherCommits(reader))
    b, db_b = _replica(path)
    with db_b.transaction() as conn:
        (charge,) = b.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {}))
    sent_by_b: list[Outgoing] = []

    def b_steps_it() -> None:
        with db_b.transaction() as conn:
            sent_by_b.extend(_reply(b, conn, _charged(charge, "reply-copy-1")))

    a.executions.meanwhile = b_steps_it  # type: ignore[attr-defined]
    sent_by_a = _reply(a, db_a.conn, _charged(charge, "reply-copy-2"))  # its savepoint is its transaction
    assert [o.type for o in sent_by_b] == ["ReserveStock"]
    assert sent_by_a == []
    succeeded = [e for e in history(db_b.conn, "ord-1") if e["type"] == "TaskSucceeded"]
    assert len(succeeded) == 1
    assert load_versioned(db_b.conn, "ord-1")[1] == 2  # type: ignore[index]


def test_without_the_version_the_race_steps_the_execution_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same race with the version check taken out: both replicas send ReserveStock (what the versioned
    write prevents)."""
    import orchestration.store as store

    def unversioned(conn: sqlite3.Connection, execution, expected, text=None):  # type: ignore[no-untyped-def]
        store.save(conn, execution, text)
        return execution.model_dump_json(), (expected or 0) + 1

    monkeypatch.setattr(store, "save_versioned", unversioned)
    path = tmp_path / "orchestrator.db"
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    a, db_a = _replica(path, _ReadsBeforeTheOtherCommits(reader))
    b, db_b = _replica(path)
    with db_b.transaction() as conn:
        (charge,) = b.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {}))
    sent_by_b: list[Outgoing] = []

    def b_steps_it() -> None:
        with db_b.transaction() as conn:
            sent_by_b.extend(_reply(b, conn, _charged(charge, "reply-copy-1")))

    a.executions.meanwhile = b_steps_it  # type: ignore[attr-defined]
    sent_by_a = _reply(a, db_a.conn, _charged(charge, "reply-copy-2"))
    assert [o.type for o in sent_by_a] == [o.type for o in sent_by_b] == ["ReserveStock"]


def test_express_replicas_share_running_executions_and_rerun_an_order_that_comes_back(tmp_path: Path) -> None:
    """Express with replicas keeps running executions in the shared database: replica B takes the reply to what
    replica A started, and a PlaceOrder arriving again while the execution runs (its holder crashed) starts it
    again from the start, its history written afresh."""
    assert isinstance(executions_for("express", replicas=2), SharedExpressExecutions)
    path = tmp_path / "orchestrator.db"
    a, db_a = _replica(path, SharedExpressExecutions())
    b, db_b = _replica(path, SharedExpressExecutions())
    place = PlaceOrder(correlation_id="ord-1", order=ORDER)
    with db_a.transaction() as conn:
        (charge,) = a.start(place, Tx(conn, None, None, {}))
    with db_b.transaction() as conn:
        assert [o.type for o in _reply(b, conn, _charged(charge, "r1"))] == ["ReserveStock"]
    with db_b.transaction() as conn:
        (again,) = retrying_conflicts(b.start)(place, Tx(conn, None, None, {}))
    assert again.type == "ChargePayment" and again.message_id == charge.message_id  # the participant's inbox knows it
    assert [e["type"] for e in history(db_b.conn, "ord-1")].count("ExecutionStarted") == 1


def _statements_of_a_reply(tmp_path: Path, replicas: int) -> list[str]:
    replica, db = _replica(tmp_path / f"orchestrator-{replicas}.db")
    with db.transaction() as conn:
        (charge,) = replica.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {}))
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    with db.transaction() as conn:
        sent = retrying_conflicts(replica.on_reply, replicas=replicas)(_charged(charge, "r1"), Tx(conn, None, None, {}))
    db.conn.set_trace_callback(None)
    assert [o.type for o in sent] == ["ReserveStock"]
    return statements


def test_a_lone_replica_steps_without_a_savepoint_and_replicas_keep_theirs(tmp_path: Path) -> None:
    """With one orchestrator nobody else can step its executions, so its routes save the savepoint's two
    statements; with several (or not told how many) each step still runs inside its own savepoint."""
    assert not any("SAVEPOINT" in s for s in _statements_of_a_reply(tmp_path, replicas=1))
    shared = _statements_of_a_reply(tmp_path, replicas=2)
    assert "SAVEPOINT replica_step" in shared and "RELEASE replica_step" in shared
