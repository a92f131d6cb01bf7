"""The participant rules through the real broker: barrier, business key, message ids, dead letters with why."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from shared.domain.contracts import (
    CancelShipment,
    ChargePayment,
    Message,
    Order,
    OrderPlaced,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
)
from shared.transport.broker import Broker
from shared.transport.topology import Topology
from shared.transport.wire import Outgoing, decode
from tests.integration.inprocess import services, wait_until

pytestmark = pytest.mark.broker

ORDER = Order(order_id="o-1", customer_id="c-1", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip
REPLY_KEY = "test-replies"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@asynccontextmanager
async def _client(amqp_url: str, namespace: str) -> AsyncIterator[tuple[Broker, list[Message]]]:
    """A test client and the replies it receives on ``REPLY_KEY``."""
    client = await Broker.connect(amqp_url, Topology(namespace), "test")
    channel = await client.connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(client.topology.exchange("replies"), REPLY_KEY)
    replies: list[Message] = []

    async def received(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        replies.append(decode(message.type, message.body))
        await message.ack()

    await queue.consume(received)
    try:
        yield client, replies
    finally:
        await client.close()


async def _send(client: Broker, command: Message, participant: str) -> None:
    await client.publish(Outgoing.command(command, participant, reply_to=REPLY_KEY))


async def _dead_letters(client: Broker, count: int, timeout_s: float = 10.0) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take ``count`` messages from the namespace's dead-letter queue, polling with a deadline."""
    channel = await client.connection.channel()
    dlq = await channel.declare_queue(client.topology.dead_letter_queue, durable=True, passive=True)
    found: list[aio_pika.abc.AbstractIncomingMessage] = []
    end = time.monotonic() + timeout_s
    while len(found) < count and time.monotonic() < end:
        message = await dlq.get(fail=False)
        if message is None:
            await asyncio.sleep(0.02)  # poll the dead-letter queue with a deadline
            continue
        await message.ack()
        found.append(message)
    return found


@pytest.mark.parametrize("unsafe", [frozenset(), frozenset({"no-barrier"})], ids=["barrier", "no-barrier"])
async def test_a_reserve_after_its_release_is_refused_even_with_the_same_message_id(
    unsafe: frozenset[str], amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """ReserveStock, ReleaseStock, then ReserveStock again with the same id and with a new id: both late
    reserves are answered OutOfStock, no stock moves. With ``--unsafe no-barrier`` the inbox replays
    StockReserved for the released reservation (today's anomaly)."""
    async with (services("orchestration", ["inventory"], amqp_url, namespace, tmp_path, {"KEYBOARD": 5}, unsafe),
                _client(amqp_url, namespace) as (client, replies)):  # fmt: skip
        reserve = ReserveStock(correlation_id=ORDER.order_id, order=ORDER)
        for command in (reserve, ReleaseStock(correlation_id=ORDER.order_id, order_id=ORDER.order_id), reserve,
                        ReserveStock(correlation_id=ORDER.order_id, order=ORDER)):  # fmt: skip
            await _send(client, command, "inventory")
            expected = len(replies) + 1
            await wait_until(lambda: len(replies) == expected, what="the reply")  # noqa: B023
    answers = [type(r).__name__ for r in replies]
    if unsafe:
        assert answers == ["StockReserved", "StockReleased", "StockReserved", "StockReserved"]
    else:
        assert answers == ["StockReserved", "StockReleased", "OutOfStock", "OutOfStock"]
        assert _rows(tmp_path / "inventory.db", "SELECT kind, COUNT(*) FROM refusals GROUP BY kind") == [("refused", 2)]
    assert _rows(tmp_path / "inventory.db", "SELECT available FROM stock") == [(5,)]


async def test_a_charge_after_its_refund_is_refused_and_charges_nothing(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """ChargePayment, RefundPayment, then ChargePayment again (same id, then a new id): both are answered
    PaymentDeclined, and the ledger holds one charge and one refund."""
    async with (services("orchestration", ["payment"], amqp_url, namespace, tmp_path),
                _client(amqp_url, namespace) as (client, replies)):  # fmt: skip
        charge = ChargePayment(correlation_id=ORDER.order_id, order=ORDER)
        for command in (charge, RefundPayment(correlation_id=ORDER.order_id, order_id=ORDER.order_id), charge,
                        ChargePayment(correlation_id=ORDER.order_id, order=ORDER)):  # fmt: skip
            await _send(client, command, "payment")
            expected = len(replies) + 1
            await wait_until(lambda: len(replies) == expected, what="the reply")  # noqa: B023
    assert [type(r).__name__ for r in replies] == ["PaymentCharged", "PaymentRefunded", "PaymentDeclined",
                                                   "PaymentDeclined"]  # fmt: skip
    assert _rows(tmp_path / "payment.db", "SELECT COUNT(*) FROM charges") == [(1,)]
    assert _rows(tmp_path / "payment.db", "SELECT COUNT(*) FROM refunds") == [(1,)]


async def test_a_shipment_after_its_cancellation_is_refused_even_with_the_same_message_id(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """ScheduleShipment, CancelShipment, then the same ScheduleShipment again: answered ShipmentFailed, not
    the ShipmentScheduled the inbox holds; the shipment stays cancelled."""
    async with (services("orchestration", ["shipping"], amqp_url, namespace, tmp_path),
                _client(amqp_url, namespace) as (client, replies)):  # fmt: skip
        schedule = ScheduleShipment(correlation_id=ORDER.order_id, order=ORDER)
        for command in (schedule, CancelShipment(correlation_id=ORDER.order_id, order_id=ORDER.order_id), schedule):
            await _send(client, command, "shipping")
            expected = len(replies) + 1
            await wait_until(lambda: len(replies) == expected, what="the reply")  # noqa: B023
    assert [type(r).__name__ for r in replies] == ["ShipmentScheduled", "ShipmentCancelled", "ShipmentFailed"]
    assert _rows(tmp_path / "shipping.db", "SELECT status FROM shipments") == [("cancelled",)]


async def test_the_same_step_under_a_new_message_id_is_answered_with_the_first_outcome(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Two ChargePayments and two RefundPayments for one order, each under its own id: one charge, one
    refund; the second of each is answered with the first outcome, addressed to its own command."""
    async with (services("orchestration", ["payment"], amqp_url, namespace, tmp_path),
                _client(amqp_url, namespace) as (client, replies)):  # fmt: skip
        commands: list[Message] = [ChargePayment(correlation_id=ORDER.order_id, order=ORDER) for _ in range(2)]
        commands += [RefundPayment(correlation_id=ORDER.order_id, order_id=ORDER.order_id) for _ in range(2)]
        for command in commands:
            await _send(client, command, "payment")
            expected = len(replies) + 1
            await wait_until(lambda: len(replies) == expected, what="the reply")  # noqa: B023
    first, second, refund, again = replies
    assert (type(first).__name__, type(second).__name__) == ("PaymentCharged", "PaymentCharged")
    assert first.payment_id == second.payment_id  # type: ignore[attr-defined]
    assert [r.causation_id for r in replies] == [c.message_id for c in commands]
    assert second.message_id != first.message_id
    assert refund.amount_cents == again.amount_cents == ORDER.amount_cents  # type: ignore[attr-defined]
    assert _rows(tmp_path / "payment.db", "SELECT COUNT(*) FROM charges") == [(1,)]
    assert _rows(tmp_path / "payment.db", "SELECT COUNT(*) FROM refunds") == [(1,)]
    assert _rows(tmp_path / "payment.db", "SELECT kind, COUNT(*) FROM refusals GROUP BY kind") == [("ignored", 2)]


async def test_an_event_for_a_step_already_taken_is_ignored_in_choreography(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """OrderPlaced published twice for one order under two message ids charges once and emits one
    PaymentCharged; the second is counted as ignored."""
    async with services("choreography", ["payment"], amqp_url, namespace, tmp_path) as hosts:
        client = await Broker.connect(amqp_url, Topology(namespace), "test")
        for _ in range(2):
            await client.publish(Outgoing.event(OrderPlaced(correlation_id=ORDER.order_id, order=ORDER)))
        await wait_until(lambda: hosts["payment"].handled == 2, what="both deliveries handled")
        await client.close()
    assert _rows(tmp_path / "payment.db", "SELECT COUNT(*) FROM charges") == [(1,)]
    assert _rows(tmp_path / "payment.db", "SELECT type FROM outbox") == [("PaymentCharged",)]
    assert _rows(tmp_path / "payment.db", "SELECT kind FROM refusals") == [("ignored",)]


async def test_a_message_without_a_message_id_is_dead_lettered_with_why_and_never_handled(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """A ChargePayment with no message id (neither property nor body field), delivered twice, charges
    nothing: both copies are dead-lettered with ``x-sagalab-error: MissingMessageId`` and the headers the
    dead-letter contract lists."""
    body = json.dumps({"correlation_id": ORDER.order_id, "order": ORDER.model_dump(mode="json")}).encode()
    async with services("orchestration", ["payment"], amqp_url, namespace, tmp_path) as hosts:
        client = await Broker.connect(amqp_url, Topology(namespace), "test")
        commands = client.topology.exchange("commands")
        for _ in range(2):
            await client.publish_raw(commands, "payment.ChargePayment", body, type="ChargePayment",
                                     correlation_id=ORDER.order_id, reply_to=REPLY_KEY, app_id="test")  # fmt: skip
        await wait_until(lambda: hosts["payment"].handled == 2, what="both deliveries settled")
        dead = await _dead_letters(client, 2)
        await client.close()
    assert _rows(tmp_path / "payment.db", "SELECT COUNT(*) FROM charges") == [(0,)]
    assert len(dead) == 2
    for message in dead:
        assert message.body == body
        assert (message.type, message.correlation_id, message.reply_to) == ("ChargePayment", ORDER.order_id, REPLY_KEY)
        assert message.routing_key == "payment.ChargePayment"
        headers = message.headers
        assert headers["x-sagalab-error"] == "MissingMessageId"
        assert "message_id" in str(headers["x-sagalab-reason"])
        assert headers["x-sagalab-service"] == "payment"
        assert headers["x-sagalab-queue"] == f"{namespace}.payment"
        assert headers["x-sagalab-attempts"] == 1
        assert headers["x-sagalab-exchange"] == f"{namespace}.commands"
        assert headers["x-sagalab-routing-key"] == "payment.ChargePayment"


async def test_a_message_id_reused_with_another_body_is_dead_lettered_not_dropped(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """A ChargePayment for another order under a message id already handled is neither handled nor
    dropped as a duplicate: it is dead-lettered with ``MessageIdReused``; an exact copy is still a duplicate."""
    other = ORDER.model_copy(update={"order_id": "o-2"})
    first = ChargePayment(correlation_id=ORDER.order_id, order=ORDER)
    reused = ChargePayment(message_id=first.message_id, correlation_id=other.order_id, order=other)
    async with (services("orchestration", ["payment"], amqp_url, namespace, tmp_path) as hosts,
                _client(amqp_url, namespace) as (client, replies)):  # fmt: skip
        for command in (first, first, reused):
            await _send(client, command, "payment")
        await wait_until(lambda: hosts["payment"].handled == 3, what="three deliveries settled")
        dead = await _dead_letters(client, 1)
    assert [m.headers["x-sagalab-error"] for m in dead] == ["MessageIdReused"]
    assert json.loads(dead[0].body)["correlation_id"] == "o-2"
    assert _rows(tmp_path / "payment.db", "SELECT order_id FROM charges") == [("o-1",)]
