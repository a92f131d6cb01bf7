"""The transports against the real broker: re-subscribing after a dropped connection, the ack rule, and the
failure modes of settling on a channel that is gone (both the default ``plain`` and the opt-in ``fast``)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from scenarios.broker_control import BrokerControl
from shared.transport.adapter import Transport
from shared.transport.broker import TRANSPORTS, Broker, bindings
from shared.transport.dead_letter_queue import DeadLetter, look
from shared.transport.delivery import Delivery
from shared.transport.topology import QueueSpec, Topology
from tests.integration.inprocess import wait_until

pytestmark = pytest.mark.broker

SPEC = QueueSpec("transport-test", bindings(("events", "test.#")), prefetch=8)
_ids = itertools.count(1)


@dataclass
class Received:
    """What a test consumer saw, in order; ``settle`` decides what it does with each delivery."""

    deliveries: list[Delivery] = field(default_factory=list)
    settle: Callable[[Delivery], object] | None = None

    def ids(self) -> list[str | None]:
        return [d.message_id for d in self.deliveries]

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        action = self.settle(delivery) if self.settle else delivery.ack()
        if asyncio.iscoroutine(action):
            await action


@asynccontextmanager
async def consuming(amqp_url: str, namespace: str, transport: Transport, received: Received
                    ) -> AsyncIterator[tuple[Broker, Broker]]:  # fmt: skip
    """A consumer of ``SPEC`` (its own connection, ``<namespace>:consumer``) and a publisher."""
    topology = Topology(namespace)
    consumer = await Broker.connect(amqp_url, topology, "consumer", transport=transport)
    publisher = await Broker.connect(amqp_url, topology, "publisher")
    try:
        await consumer.consume(SPEC, received)
        yield consumer, publisher
    finally:
        await publisher.close()
        await consumer.close()


async def send(publisher: Broker) -> str:
    message_id = f"m-{next(_ids)}"
    await publisher.publish_raw(publisher.topology.exchange("events"), "test.Ping", b"{}", type="Ping",
                                message_id=message_id)  # fmt: skip
    return message_id


async def close_connection_of(amqp_url: str, name: str) -> None:
    """Have the broker close this one client connection (found by its ``connection_name``), nobody else's."""
    control = BrokerControl.find(amqp_url)
    if control is None:
        pytest.skip("closing a connection needs rabbitmqctl")
    listing = await control.run("list_connections", "-q", "--no-table-headers", "pid", "client_properties")
    pids = [line.partition("\t")[0] for line in listing.splitlines() if f'{{"connection_name","{name}"}}' in line]
    assert len(pids) == 1, f"expected one connection named {name}, found {len(pids)}"
    await control.run("close_connection", pids[0], "sagalab transport test")


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> Transport:
    return TRANSPORTS[request.param]()


async def test_the_consumer_subscribes_again_after_the_broker_closes_its_connection(
    amqp_url: str, namespace: str, transport: Transport
) -> None:
    """Closed by the broker, the consumer's connection comes back by itself and deliveries flow again."""
    received = Received()
    async with consuming(amqp_url, namespace, transport, received) as (_, publisher):
        first = await send(publisher)
        await wait_until(lambda: received.ids() == [first], what="the first delivery")
        await close_connection_of(amqp_url, f"{namespace}:consumer")
        second = await send(publisher)
        await wait_until(lambda: second in received.ids(), timeout_s=30, what="a delivery after the reconnection")
    assert received.ids() == [first, second]


async def test_an_exception_in_the_handler_requeues_the_delivery(
    amqp_url: str, namespace: str, transport: Transport
) -> None:
    """A handler that raises gets the same message again, marked redelivered; the second time it is acked."""
    received = Received()

    def fail_first(delivery: Delivery) -> object:
        if len(received.deliveries) == 1:
            raise RuntimeError("a bug on the first attempt")
        return delivery.ack()

    received.settle = fail_first
    async with consuming(amqp_url, namespace, transport, received) as (_, publisher):
        sent = await send(publisher)
        await wait_until(lambda: len(received.deliveries) == 2, what="the redelivery")
    assert received.ids() == [sent, sent]
    assert [d.redelivered for d in received.deliveries] == [False, True]


async def test_dead_letter_puts_a_copy_saying_why_in_the_dead_letter_queue(
    amqp_url: str, namespace: str, transport: Transport
) -> None:
    """``dead_letter`` publishes a copy with the ``x-sagalab-*`` headers, and the original is not delivered again."""
    received = Received(settle=lambda d: d.dead_letter("UndecodableMessage", "not a sagalab message"))
    async with consuming(amqp_url, namespace, transport, received) as (consumer, publisher):
        sent = await send(publisher)
        letters: list[DeadLetter] = []

        async def dead_lettered() -> bool:
            letters[:] = (await look(consumer))[0]
            return bool(letters)

        for _ in range(200):  # poll with a deadline
            if await dead_lettered():
                break
            await asyncio.sleep(0.05)  # the poll interval, within the deadline above
        [letter] = letters
    assert letter.message_id == sent
    assert letter.error == "UndecodableMessage" and letter.reason == "not a sagalab message"
    assert letter.headers["x-sagalab-queue"] == Topology(namespace).queue(SPEC)
    assert received.ids() == [sent]


async def test_a_delivery_from_a_replaced_channel_is_redelivered_not_acked_on_the_new_one(
    amqp_url: str, namespace: str, transport: Transport
) -> None:
    """A delivery kept unacked across a reconnection is delivered again on the new channel; acking the old copy
    later is logged and sends nothing on the new channel (where its tag would be a channel error)."""
    received = Received(settle=lambda d: None if len(received.deliveries) == 1 else d.ack())
    async with consuming(amqp_url, namespace, transport, received) as (_, publisher):
        sent = await send(publisher)
        await wait_until(lambda: len(received.deliveries) == 1, what="the first delivery")
        await close_connection_of(amqp_url, f"{namespace}:consumer")
        await wait_until(lambda: len(received.deliveries) == 2, timeout_s=30, what="the redelivery")
        old, again = received.deliveries
        with capture_logs() as logs:
            await old.ack()
            await _settled_frames_written(old)
        after = await send(publisher)  # the new channel still works: the old tag never reached it
        await wait_until(lambda: after in received.ids(), what="a delivery after the stale ack")
    assert received.ids() == [sent, sent, after] and again.redelivered
    assert any("redeliver" in entry["event"] for entry in logs), logs


async def test_an_error_on_the_ack_channel_is_logged_and_the_delivery_redelivered(
    amqp_url: str, namespace: str, transport: Transport
) -> None:
    """When the broker closes the consuming channel over a bad frame, the channel reopens, the consumer goes
    on, the unacked delivery comes again, and settling the old copy is logged rather than lost in silence."""
    received = Received(settle=lambda d: None if len(received.deliveries) == 1 else d.ack())
    async with consuming(amqp_url, namespace, transport, received) as (consumer, publisher):
        sent = await send(publisher)
        await wait_until(lambda: len(received.deliveries) == 1, what="the first delivery")
        channel = await _consuming_channel(consumer)
        await channel.basic_ack(999_999)  # an unknown delivery tag: the broker closes this channel
        await wait_until(lambda: len(received.deliveries) == 2, timeout_s=30, what="the redelivery")
        with capture_logs() as logs:
            await received.deliveries[0].ack()
            await _settled_frames_written(received.deliveries[0])
    assert received.ids() == [sent, sent] and received.deliveries[1].redelivered
    assert any("redeliver" in entry["event"] for entry in logs), logs


async def _consuming_channel(consumer: Broker):  # type: ignore[no-untyped-def]
    """The aiormq channel the consumer's deliveries arrive on (what a stray frame would break)."""
    robust = [ch for ch in consumer.connection.transport.connection.channels.values()  # type: ignore[union-attr]
              if ch.number != (await consumer._require_channel().get_underlay_channel()).number]
    assert len(robust) == 1
    return robust[0]


async def _settled_frames_written(delivery: Delivery) -> None:
    """The fast transport writes a channel's settlements from a task of its own: wait for this delivery's."""
    if (acks := getattr(delivery, "_acks", None)) is not None:
        await acks.drain()
