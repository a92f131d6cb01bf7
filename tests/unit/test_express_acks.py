"""Express acks: an order's delivery is acked only once its execution finished, an execution that finished before
its order's delivery was parked leaves nothing behind, and what is held stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from orchestration.bootstrap import load_current
from orchestration.executions import InMemoryExecutions
from orchestration.express_acks import ExpressAcks
from orchestration.orchestrator import Orchestrator
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA
from shared.domain.contracts import Message, Order, PaymentDeclined, PlaceOrder
from shared.runtime.routes import ACK_AFTER_COMMIT, Tx
from shared.stores.sqlite import Database
from shared.transport.delivery import Delivery

ORDER = Order(order_id="ord-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Oslo")  # fmt: skip


class FakeDelivery:
    """Stands in for a delivery: remembers whether it was acked."""

    def __init__(self) -> None:
        self.acked = 0

    async def ack(self) -> None:
        self.acked += 1


def _delivery() -> tuple[FakeDelivery, Delivery]:
    fake = FakeDelivery()
    return fake, fake  # type: ignore[return-value]


class _Express:
    """An Express orchestrator on the checkout definition, stepped by hand as the host would."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA)
        resources = ResourceMap()
        self.orchestrator = Orchestrator(load_current(None, resources), resources, self.db, InMemoryExecutions())
        self.place = PlaceOrder(correlation_id="ord-1", order=ORDER)

    def handle(self, message: Message) -> str:
        """Run the route's work in one committed transaction; the message id of the command it sent, if any."""
        with self.db.transaction() as conn:
            tx = Tx(conn, None, None, {})
            if isinstance(message, PlaceOrder):
                sent = self.orchestrator.start(message, tx)
            else:
                sent = self.orchestrator.on_reply(message, tx)
        return sent[0].message_id if sent else ""

    def declined(self, charge_id: str) -> PaymentDeclined:
        return PaymentDeclined(correlation_id="ord-1", causation_id=charge_id, order=ORDER, reason="card declined")


@pytest.fixture
def express(tmp_path: Path) -> _Express:
    return _Express(tmp_path)


async def test_an_express_order_is_acked_only_once_its_execution_finished(express: _Express) -> None:
    """PlaceOrder's delivery is held while the execution runs; the reply that ends it acks both."""
    acks = express.orchestrator.acks
    charge_id = express.handle(express.place)
    order_fake, order_delivery = _delivery()
    await acks.committed(order_delivery, express.place)
    assert order_fake.acked == 0 and express.orchestrator.express_acks is not None
    assert express.orchestrator.express_acks.parked == 1

    reply = express.declined(charge_id)
    express.handle(reply)
    reply_fake, reply_delivery = _delivery()
    await acks.committed(reply_delivery, reply)
    assert (order_fake.acked, reply_fake.acked) == (1, 1)
    assert express.orchestrator.express_acks.parked == 0


async def test_an_execution_that_finished_before_its_order_was_parked_leaves_nothing_behind(
    express: _Express,
) -> None:
    """The reply overtakes the order's own ack (a slow after-commit): the order is acked at once, nothing is held,
    and no finished id waits for a delivery that will never come."""
    acks = express.orchestrator.acks
    reply = express.declined(express.handle(express.place))
    express.handle(reply)
    _, reply_delivery = _delivery()
    await acks.committed(reply_delivery, reply)
    order_fake, order_delivery = _delivery()
    await acks.committed(order_delivery, express.place)
    assert order_fake.acked == 1
    held = express.orchestrator.express_acks
    assert held is not None and held.parked == 0 and not held._finished


async def test_an_order_placed_again_after_its_execution_finished_is_acked_at_once(express: _Express) -> None:
    """A redelivered PlaceOrder of a finished execution starts nothing and is not held."""
    acks = express.orchestrator.acks
    express.handle(express.declined(express.handle(express.place)))
    await express.orchestrator.express_acks.release()  # type: ignore[union-attr]
    express.handle(express.place)
    fake, delivery = _delivery()
    await acks.committed(delivery, express.place)
    assert fake.acked == 1


async def test_past_the_limit_an_order_is_acked_at_once_with_a_warning() -> None:
    """Held orders are capped: beyond the limit the order is acked now and the log says why."""
    acks = ExpressAcks(running=lambda _: True, limit=2)
    fakes = []
    with capture_logs() as logs:
        for n in range(3):
            fake, delivery = _delivery()
            fakes.append(fake)
            await acks.committed(delivery, PlaceOrder(correlation_id=f"ord-{n}", order=ORDER))
    assert [f.acked for f in fakes] == [0, 0, 1]
    assert acks.parked == 2
    assert [e["log_level"] for e in logs] == ["warning"]


async def test_a_standard_orchestrator_acks_after_commit(tmp_path: Path) -> None:
    """Standard persists every step, so its routes ack each delivery once it committed."""
    resources = ResourceMap()
    db = Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA)
    orchestrator = Orchestrator(load_current(None, resources), resources, db)
    assert orchestrator.acks is ACK_AFTER_COMMIT and orchestrator.express_acks is None


async def test_an_order_held_here_is_acked_once_another_replica_finished_its_execution() -> None:
    """With replicas, the execution of an order this replica holds may end in another replica: the timer loop's
    recheck acks the held order once the shared store says the execution no longer runs, not before."""
    running = {"ord-1"}
    acks = ExpressAcks(running.__contains__)
    fake, delivery = _delivery()
    await acks.committed(delivery, PlaceOrder(correlation_id="ord-1", order=ORDER))
    await acks.recheck()
    assert (fake.acked, acks.parked) == (0, 1)
    running.clear()  # another replica committed the execution's end
    await acks.recheck()
    assert (fake.acked, acks.parked) == (1, 0)
