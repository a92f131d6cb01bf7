"""Pruning keeps the inbox, the outbox and the orchestrator's finished executions bounded, and never
breaks a defence: a duplicate within the horizon is still dropped, one beyond it still has no effect."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestration import retention
from orchestration.histories import find_pruned
from orchestration.store import ORCHESTRATOR_SCHEMA
from sagalab.history_view import pruned_message
from shared.domain.contracts import PlaceOrder
from shared.runtime.pruner import Horizon, Pruning
from shared.runtime.routes import Tx
from shared.stores import pruning
from shared.stores.sqlite import Database
from shared.transport.wire import Outgoing
from tests.unit.test_reply_dedupe import ORDER, _Saga

DAY = 24 * 3600.0
NOW = 1_800_000_000.0


def _age(db: Database, table: str, column: str, at: float, where: str = "1 = 1") -> None:
    db.conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (at,))


def _out(message_id: str) -> Outgoing:
    return Outgoing(exchange="replies", routing_key="r", type="PaymentCharged", message_id=message_id,
                    correlation_id="o-1", body=b"{}", reply_to=None, headers={})  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "payment.db")


def test_the_default_horizon_is_a_day_and_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day is far beyond any redelivery (seconds to minutes); SAGALAB_INBOX_HORIZON_S changes it."""
    assert pruning.inbox_horizon_s() == DAY
    monkeypatch.setenv("SAGALAB_INBOX_HORIZON_S", "60")
    assert pruning.inbox_horizon_s() == 60.0
    assert all(h.keep_s == 60.0 for h in Pruning().horizons)


def test_a_duplicate_within_the_horizon_is_still_dropped_after_a_prune(db: Database) -> None:
    """Rows older than the horizon go; a message handled an hour ago is still recognised as a duplicate."""
    with db.transaction() as conn:
        Database.remember(conn, "payment", "old", "d1")
        Database.remember(conn, "payment", "recent", "d2")
    _age(db, "inbox", "handled_at", NOW - 2 * DAY, "message_id = 'old'")
    _age(db, "inbox", "handled_at", NOW - 3600, "message_id = 'recent'")
    deleted = Pruning(horizons=[Horizon(pruning.prune_inbox, DAY)]).prune_once(db, now=NOW)
    assert deleted == 1
    with db.transaction() as conn:
        assert Database.remember(conn, "payment", "recent", "d2") == "duplicate"
        assert Database.remember(conn, "payment", "recent", "other") == "reused"


def test_beyond_the_horizon_the_business_key_still_stops_a_second_effect(db: Database) -> None:
    """The steps rows are never pruned: a copy arriving after its inbox row went finds its step done."""
    with db.transaction() as conn:
        Database.remember(conn, "payment", "m-1")
        assert Database.claim_step(conn, "payment", "o-1", "charge", "m-1") is None
    _age(db, "inbox", "handled_at", NOW - 2 * DAY)
    _age(db, "steps", "at", NOW - 2 * DAY)
    Pruning(horizons=[Horizon(p, DAY) for p in pruning.SERVICE_PRUNERS]).prune_once(db, now=NOW)
    with db.transaction() as conn:
        assert Database.remember(conn, "payment", "m-1") == "new"  # the inbox forgot it ...
        assert Database.claim_step(conn, "payment", "o-1", "charge", "m-1") == "m-1"  # ... the business key did not


def test_only_sent_outbox_rows_past_the_horizon_are_deleted(db: Database) -> None:
    """An old sent row goes; an old unsent one stays for the relay; a recent sent one stays to be replayed."""
    with db.transaction() as conn:
        old_sent, old_unsent, recent_sent = Database.stage(conn, "t", [_out("a"), _out("b"), _out("c")])
    db.mark_sent([old_sent, recent_sent])
    _age(db, "outbox", "created_at", NOW - 2 * DAY, f"seq IN ({old_sent}, {old_unsent})")
    _age(db, "outbox", "created_at", NOW - 60, f"seq = {recent_sent}")
    with db.transaction() as conn:
        assert pruning.prune_outbox(conn, NOW - DAY) == 1
    left = {r[0] for r in db.conn.execute("SELECT seq FROM outbox")}
    assert left == {old_unsent, recent_sent}
    assert [r.message.message_id for r in db.staged_for("t")] == ["b", "c"]


def test_a_prune_deletes_in_batches_until_nothing_is_left(db: Database) -> None:
    """5,000 aged rows in batches of 2,000: all go in one pass."""
    with db.transaction() as conn:
        for i in range(5000):
            Database.remember(conn, "payment", f"m-{i}")
    _age(db, "inbox", "handled_at", NOW - 2 * DAY)
    assert Pruning(horizons=[Horizon(pruning.prune_inbox, DAY)]).prune_once(db, now=NOW) == 5000
    assert db.conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0


def _orchestrator_db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "orchestrator.db", isolation_level=None)
    conn.executescript(ORCHESTRATOR_SCHEMA)
    for order_id, status, order_status in (("done", "SUCCEEDED", "completed"), ("running", "RUNNING", "pending"),
                                           ("fresh", "FAILED", "compensated")):  # fmt: skip
        conn.execute("INSERT INTO executions VALUES (?, ?, '{}', NULL, ?, ?, 1)", (order_id, status, NOW - 9 * DAY,
                     NOW - (8 if order_id != "fresh" else 1) * DAY))  # fmt: skip
        conn.execute("INSERT INTO history VALUES (?, 1, '[]')", (order_id,))
        conn.execute("INSERT INTO pins VALUES (?, 'sha')", (order_id,))
        conn.execute("INSERT INTO orders (order_id, status, placed_at, settled_at, body) VALUES (?, ?, ?, ?, '{}')",
                     (order_id, order_status, NOW - 9 * DAY, NOW - 8 * DAY))  # fmt: skip
    return conn


def test_finished_executions_past_the_retention_lose_history_state_and_pin(tmp_path: Path) -> None:
    """Only the execution finished more than a week ago goes; a running one and a recent one stay."""
    conn = _orchestrator_db(tmp_path)
    assert retention.history_retention_s() == 7 * DAY
    assert retention.prune_finished(conn, NOW - 7 * DAY) == 1
    for table in ("executions", "history", "pins"):
        assert {r[0] for r in conn.execute(f"SELECT execution_id FROM {table}")} == {"running", "fresh"}
    assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 3  # the business record stays


def test_a_pruned_execution_is_known_by_its_settled_order(tmp_path: Path) -> None:
    """The orchestrator refuses to start a pruned order again, and ``sagalab history`` says it was pruned."""
    conn = _orchestrator_db(tmp_path)
    retention.prune_finished(conn, NOW - 7 * DAY)
    assert retention.pruned_order(conn, "done") == ("completed", NOW - 8 * DAY)
    assert retention.pruned_order(conn, "running") is None  # still there
    assert retention.pruned_order(conn, "fresh") is None  # still there
    assert retention.pruned_order(conn, "never") is None
    found = find_pruned("done", [tmp_path])
    assert found is not None
    assert "finished (completed)" in pruned_message("done", *found[0]) and "was pruned" in pruned_message("done", *found[0])


def test_a_placeorder_for_a_pruned_execution_starts_nothing(tmp_path: Path) -> None:
    """Redelivered after its execution was pruned, the order is known by its settled row: no new charge."""
    saga = _Saga(tmp_path)
    saga.place()
    with saga.db.transaction() as conn:
        conn.execute("UPDATE executions SET status = 'SUCCEEDED', updated_at = ?", (NOW - 8 * DAY,))
        conn.execute("UPDATE orders SET status = 'completed', settled_at = ?", (NOW - 8 * DAY,))
        assert retention.prune_finished(conn, NOW - 7 * DAY) == 1
    with saga.db.transaction() as conn:
        assert saga.orchestrator.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {})) == []
        assert conn.execute("SELECT count(*) FROM executions").fetchone()[0] == 0
