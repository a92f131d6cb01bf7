"""Delivery guarantees of the service host: duplicates have no second effect, poison is dead-lettered."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from shared.domain.contracts import ChargePayment, Order, OrderPlaced, PlaceOrder
from shared.transport.broker import Broker
from shared.transport.topology import Topology
from shared.transport.wire import Outgoing
from tests.integration.inprocess import services, wait_until

pytestmark = pytest.mark.broker

ORDER = Order(order_id="o-1", customer_id="c-1", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


def _charges(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "payment.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM charges").fetchone()[0])


async def test_a_duplicated_event_charges_once(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """The same OrderPlaced delivered twice (same message id) leads to one charge and one PaymentCharged."""
    async with services("choreography", ["payment"], amqp_url, namespace, tmp_path) as hosts:
        client = await Broker.connect(amqp_url, Topology(namespace), "test")
        event = OrderPlaced(correlation_id=ORDER.order_id, order=ORDER)
        for _ in range(2):
            await client.publish(Outgoing.event(event))
        await wait_until(lambda: hosts["payment"].handled == 2, what="both deliveries handled")
        await client.close()
    assert _charges(tmp_path) == 1
    with sqlite3.connect(tmp_path / "payment.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM outbox WHERE type = 'PaymentCharged'").fetchone()[0] == 1


async def test_a_repeated_command_is_answered_again_without_a_second_charge(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """An orchestration command sent twice is charged once and answered twice with the same reply."""
    async with services("orchestration", ["payment"], amqp_url, namespace, tmp_path) as hosts:
        client = await Broker.connect(amqp_url, Topology(namespace), "test")
        command = ChargePayment(correlation_id=ORDER.order_id, order=ORDER)
        for _ in range(2):
            await client.publish(Outgoing.command(command, "payment", reply_to="orchestrator"))
        await wait_until(lambda: hosts["payment"].handled == 2, what="both deliveries handled")
        await client.close()
    assert _charges(tmp_path) == 1


async def test_poison_messages_are_dead_lettered_while_sagas_continue(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Undecodable, unknown and invalid messages go to the dead-letter queue; the next order completes."""
    names = ["orders", "payment", "inventory", "shipping"]
    async with services("choreography", names, amqp_url, namespace, tmp_path, stock={"KEYBOARD": 5}):
        client = await Broker.connect(amqp_url, Topology(namespace), "test")
        events = client.topology.exchange("events")
        await client.publish_raw(events, "orders.OrderPlaced", b"\x00not json", type="OrderPlaced")
        await client.publish_raw(events, "orders.OrderPlaced", b"{}", type="Bogus")
        await client.publish_raw(events, "orders.OrderPlaced", b'{"correlation_id": "x"}', type="OrderPlaced")
        await client.publish(Outgoing.command(PlaceOrder(correlation_id="o-2", order=ORDER.model_copy(
            update={"order_id": "o-2"})), "orders", reply_to=None))  # fmt: skip

        def completed() -> bool:
            with sqlite3.connect(tmp_path / "orders.db") as conn:
                row = conn.execute("SELECT status FROM orders WHERE order_id = 'o-2'").fetchone()
            return row is not None and row[0] == "completed"

        await wait_until(completed, what="the good order to complete")
        channel = await client.connection.channel()
        dlq = await channel.declare_queue(client.topology.dead_letter_queue, durable=True, passive=True)
        dead: list[str | None] = []
        end = time.monotonic() + 10
        while len(dead) < 3 and time.monotonic() < end:
            message = await dlq.get(timeout=5, fail=False)
            if message is None:
                await asyncio.sleep(0.02)  # poll the dead-letter queue with a deadline
                continue
            dead.append(message.type)
            await message.ack()
        await client.close()
    assert sorted(map(str, dead)) == ["Bogus", "OrderPlaced", "OrderPlaced"]
