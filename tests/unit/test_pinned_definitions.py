"""Pinned definitions: an execution runs on the definition it started on, whatever the file says later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import default_definition_path
from orchestration.definitions import Definition, PinnedInterpreters, UnusableDefinition, pin, pinned
from orchestration.executions import InMemoryExecutions
from orchestration.orchestrator import Orchestrator
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA, load
from shared.domain.contracts import Message, Order, PlaceOrder, TaskSucceeded
from shared.runtime.routes import Tx
from shared.stores.orders import read_orders
from shared.stores.sqlite import Database
from shared.transport.wire import Outgoing

RESOURCES = ResourceMap()


def _checkout(rename: dict[str, str] | None = None) -> Definition:
    """The default checkout definition, with states renamed (and every reference to them)."""
    text = default_definition_path().read_text()
    for old, new in (rename or {}).items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return Definition.compile("checkout.asl.json", text, RESOURCES)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA)


def _order() -> Order:
    return Order(order_id="ord-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=4999,
                 card_number="4242424242424242", destination="Oslo")  # fmt: skip


def _place(orchestrator: Orchestrator, db: Database) -> list[Outgoing]:
    with db.transaction() as conn:
        return orchestrator.start(PlaceOrder(correlation_id="ord-1", order=_order()), Tx(conn, None, None, {}))


def _reply(orchestrator: Orchestrator, db: Database, command: Outgoing, output: Any) -> list[Outgoing]:
    reply: Message = TaskSucceeded(correlation_id="ord-1", causation_id=command.message_id, output=output)
    with db.transaction() as conn:
        return orchestrator.on_reply(reply, Tx(conn, None, None, {}))


def test_a_definition_is_stored_once_per_digest_and_each_execution_points_to_it(db: Database) -> None:
    """Two executions on one definition share one stored copy; each pin names its digest."""
    definition = _checkout()
    with db.transaction() as conn:
        assert pin(conn, "a", definition) and pin(conn, "b", definition)
        assert not pin(conn, "a", _checkout({"ReserveStock": "ReserveItems"}))  # a pin is never moved
        assert conn.execute("SELECT COUNT(*) FROM definitions").fetchone()[0] == 1
        record = pinned(conn, "a")
    assert record is not None and (record.digest, record.name, record.text) == (
        definition.digest, "checkout.asl.json", definition.text)  # fmt: skip


def test_reformatting_a_definition_keeps_its_digest() -> None:
    """The digest is of the JSON, not of its layout: re-indenting the file is not a new version."""
    text = default_definition_path().read_text()
    compact = json.dumps(json.loads(text), separators=(",", ":"))
    assert Definition.compile("x", compact, RESOURCES).digest == _checkout().digest


def test_after_a_restart_on_an_edited_file_a_running_execution_goes_on_with_its_old_graph(db: Database) -> None:
    """Started on v1, awaiting ReserveStock; the orchestrator restarts on a file where that state is renamed:
    the reply is applied on v1 (no KeyError) and the execution goes on to ScheduleShipment."""
    first = Orchestrator(_checkout(), RESOURCES, db)
    charge = _place(first, db)[0]
    reserve = _reply(first, db, charge, {"payment_id": "p1", "amount_cents": 4999})[0]
    assert reserve.type == "ReserveStock"
    restarted = Orchestrator(_checkout({"ReserveStock": "ReserveItems", "ScheduleShipment": "Ship"}), RESOURCES, db)
    sent = _reply(restarted, db, reserve, {})
    assert [o.type for o in sent] == ["ScheduleShipment"]
    execution = load(db.conn, "ord-1")
    assert execution is not None and execution.state_name == "ScheduleShipment"


def test_a_new_execution_starts_on_the_current_definition(db: Database) -> None:
    """Pins only hold executions to their own definition: a new one is pinned to the file as it is now."""
    edited = _checkout({"ReserveStock": "ReserveItems"})
    with db.transaction() as conn:
        pin(conn, "old", _checkout())
        interpreters = PinnedInterpreters(edited, RESOURCES)
        assert "ReserveItems" in interpreters.for_start(conn, "new").machine.states
        assert "ReserveStock" in interpreters.for_execution(conn, "old").machine.states


@pytest.mark.parametrize(
    ("damage", "reason"),
    [("UPDATE definitions SET text = '{not json'", "cannot be loaded"),
     ("DELETE FROM definitions", "is missing"),
     ("DELETE FROM pins", "has no pinned definition")],
)  # fmt: skip
def test_an_unusable_pinned_definition_parks_the_order_with_the_reason(db: Database, damage: str, reason: str) -> None:
    """If the pinned copy cannot be used, the reply does not crash (no redelivery loop): the execution fails
    with Sagalab.DefinitionUnusable and the order is parked as needing attention, saying why."""
    first = Orchestrator(_checkout(), RESOURCES, db)
    charge = _place(first, db)[0]
    with db.transaction() as conn:
        conn.execute(damage)
    restarted = Orchestrator(_checkout({"ReserveStock": "ReserveItems"}), RESOURCES, db)  # the file changed too
    assert _reply(restarted, db, charge, {"payment_id": "p1", "amount_cents": 4999}) == []
    execution = load(db.conn, "ord-1")
    assert execution is not None and (execution.status, execution.error) == ("FAILED", "Sagalab.DefinitionUnusable")
    order = read_orders(db.conn)["ord-1"]
    assert order.status == "needs-attention" and reason in order.detail


def test_an_unusable_pin_raises_a_named_error(db: Database) -> None:
    """PinnedInterpreters reports a pin it cannot use as UnusableDefinition, never KeyError or JSON errors."""
    with db.transaction() as conn:
        pin(conn, "a", _checkout())
        conn.execute("UPDATE definitions SET text = '{\"StartAt\": 1}'")
        with pytest.raises(UnusableDefinition, match="cannot be loaded"):
            PinnedInterpreters(_checkout({"ReserveStock": "X"}), RESOURCES).for_execution(conn, "a")


def test_an_express_rerun_of_a_redelivered_order_starts_on_the_definition_it_first_started_on(db: Database) -> None:
    """Express keeps executions in memory: after a crash the redelivered PlaceOrder runs again, and the pin
    written with the order makes it run on the first definition, not on the edited file."""
    _place(Orchestrator(_checkout(), RESOURCES, db, InMemoryExecutions()), db)
    restarted = Orchestrator(_checkout({"ChargePayment": "Charge"}), RESOURCES, db, InMemoryExecutions())
    (command,) = _place(restarted, db)
    assert command.headers["x-state"] == "ChargePayment"


def test_an_express_rerun_whose_pin_is_unusable_parks_the_order_and_sends_nothing(db: Database) -> None:
    """A redelivered order whose pinned copy is gone is parked once (needs-attention, with the reason) and
    recorded as failed, so a further redelivery does nothing either."""
    _place(Orchestrator(_checkout(), RESOURCES, db, InMemoryExecutions()), db)
    with db.transaction() as conn:
        conn.execute("DELETE FROM definitions")
    restarted = Orchestrator(_checkout({"ChargePayment": "Charge"}), RESOURCES, db, InMemoryExecutions())
    assert _place(restarted, db) == [] and _place(restarted, db) == []
    order = read_orders(db.conn)["ord-1"]
    assert order.status == "needs-attention" and "is missing from the store" in order.detail
