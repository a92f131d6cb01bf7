"""An Express execution's history, kept in memory as encoded events until it ends, is stored as Standard stores it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from orchestration.bootstrap import load_current
from orchestration.executions import DurableExecutions, Executions, InMemoryExecutions
from orchestration.orchestrator import Orchestrator
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA, history
from shared.domain.contracts import Order, PaymentDeclined, PlaceOrder
from shared.runtime.routes import Tx
from shared.stores.sqlite import Database

ORDER = Order(order_id="ord-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Oslo")  # fmt: skip
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _declined_order(path: Path, executions: Executions) -> Database:
    db = Database(path, ORCHESTRATOR_SCHEMA)
    resources = ResourceMap()
    orchestrator = Orchestrator(load_current(None, resources), resources, db, executions, clock=lambda: NOW)
    with db.transaction() as conn:
        (charge,) = orchestrator.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {}))
    declined = PaymentDeclined(correlation_id="ord-1", causation_id=charge.message_id, order=ORDER, reason="no")
    with db.transaction() as conn:
        assert orchestrator.on_reply(declined, Tx(conn, None, None, {})) == []
    return db


def test_an_express_history_reads_back_as_the_standard_one(tmp_path: Path) -> None:
    """Two steps (the start, the declined charge) kept as encoded events in memory, written when the execution
    ends: the stored history is the one a Standard execution writes step by step, event for event."""
    express = InMemoryExecutions()
    express_db = _declined_order(tmp_path / "express.db", express)
    standard_db = _declined_order(tmp_path / "standard.db", DurableExecutions())
    events = history(express_db.conn, "ord-1")
    assert [e["type"] for e in events][::7] == ["ExecutionStarted", "ExecutionFailed"]
    assert [e["id"] for e in events] == list(range(1, 9))
    assert events == history(standard_db.conn, "ord-1")
    assert express.history == {} and express.running == {}  # nothing kept once it ended
