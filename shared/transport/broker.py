"""A robust, confirmed connection to RabbitMQ: declare, publish with confirms, consume with manual acks."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)
from aiormq.abc import DeliveredMessage
from yarl import URL

from shared.domain.contracts import MAX_MESSAGE_BYTES
from shared.transport.acks import BatchedAcks
from shared.transport.dead_letter import USER_ID, DeadLetter
from shared.transport.delivery import DeadLetterPublisher, Delivery
from shared.transport.observed import Observed
from shared.transport.topology import EXCHANGE_KINDS, Binding, QueueSpec, Topology
from shared.transport.wire import ExchangeKind, Outgoing

log = structlog.get_logger()


class BrokerUnavailable(Exception):
    """RabbitMQ cannot be reached; the message says how to get one."""

    def __init__(self, url: str, reason: object) -> None:
        safe = str(URL(url).with_password("***")) if URL(url).password else url
        super().__init__(
            f"cannot reach RabbitMQ at {safe} ({reason}).\n"
            "Start one with `rabbitmq-server -detached` (Debian package rabbitmq-server) or "
            "`docker compose up -d rabbitmq`, or point --amqp-url / AMQP_URL at a running broker."
        )


class PublishFailed(Exception):
    """The broker did not confirm a publish (nacked, returned as unroutable, or the connection dropped)."""


class MessageTooLarge(ValueError):
    """A body over ``MAX_MESSAGE_BYTES``: every consumer would dead-letter it, so it is not sent. The contracts
    bound every field, so a valid message never gets this large; this is a bug, not a broker fault."""


DeliveryHandler = Callable[[Delivery], Awaitable[None]]


class Consumer:
    """A running consumer of one queue; ``cancel`` stops new deliveries (in-flight ones still settle)."""

    def __init__(
        self,
        channel: AbstractChannel,
        queue: str,
        handler: DeliveryHandler,
        acks_for: Callable[[aiormq.abc.AbstractChannel], BatchedAcks],
        service: str = "",
        publish_dead: DeadLetterPublisher | None = None,
    ) -> None:
        self.channel = channel
        self.queue = queue
        self.handler = handler
        self._acks_for = acks_for
        self._service = service
        self._publish_dead = publish_dead
        self._underlay: aiormq.abc.AbstractChannel | None = None
        self._tag: str | None = None
        self._cancelled = False

    async def start(self) -> None:
        self._underlay = await self.channel.get_underlay_channel()
        ok = await self._underlay.basic_consume(self.queue, self._on_message, no_ack=False)
        self._tag = ok.consumer_tag

    async def restart(self, *_: Any) -> None:
        if not self._cancelled:
            await self.start()

    async def cancel(self) -> None:
        self._cancelled = True
        if self._underlay is not None and self._tag is not None and not self._underlay.is_closed:
            try:
                await self._underlay.basic_cancel(self._tag)
            except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError):
                pass  # the channel is gone, and with it the consumer

    async def _on_message(self, message: DeliveredMessage) -> None:
        # Ack rule: the handler settles each delivery itself (ack after its local commit, requeue,
        # dead-letter) or keeps it unacked on purpose (an Express order until its execution ends); an
        # unexpected exception requeues it, and the queue's delivery limit stops one that fails forever.
        delivery = Delivery(message, self._acks_for(message.channel), self.queue, self._service, self._publish_dead)
        try:
            await self.handler(delivery)
        except Exception:
            await delivery.retry_later()
            log.exception("delivery handler raised; requeued", queue=self.queue)


class Broker:
    """One robust connection per process: a confirming publish channel and a channel per consumed queue."""

    def __init__(self, connection: AbstractRobustConnection, topology: Topology, sender: str) -> None:
        self.connection = connection
        self.topology = topology
        self.sender = sender
        self.user: str = (connection.url.user if connection is not None else None) or "guest"
        """The broker user this connection logged in as: every publish names it in ``user_id``."""
        self._publish_channel: AbstractChannel | None = None
        self._exchange_names = {kind: topology.exchange(kind) for kind in EXCHANGE_KINDS}
        self._acks: dict[int, BatchedAcks] = {}

    @classmethod
    async def connect(cls, url: str, topology: Topology, sender: str, timeout: float = 10.0, declare: bool = True
                      ) -> Broker:  # fmt: skip
        """Connect, open the confirming publish channel and (unless ``declare`` is false) declare the exchanges."""
        try:
            connection = await aio_pika.connect_robust(
                url, timeout=timeout, client_properties={"connection_name": f"{topology.namespace}:{sender}"}
            )
        except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
            raise BrokerUnavailable(url, exc or type(exc).__name__) from None
        broker = cls(connection, topology, sender)
        broker._publish_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        if declare:
            await broker.declare_exchanges(broker._publish_channel)
        return broker

    async def close(self) -> None:
        await self.connection.close()

    async def declare_exchanges(self, channel: AbstractChannel) -> dict[ExchangeKind, AbstractExchange]:
        """The namespace's three topic exchanges, and the dead-letter exchange with its queue."""
        t = self.topology
        exchanges = {
            kind: await channel.declare_exchange(t.exchange(kind), aio_pika.ExchangeType.TOPIC, durable=True)
            for kind in EXCHANGE_KINDS
        }
        dlx = await channel.declare_exchange(t.dead_letter_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        dlq = await channel.declare_queue(t.dead_letter_queue, durable=True)
        await dlq.bind(dlx, "#")
        return exchanges

    async def declare_queue(self, spec: QueueSpec, channel: AbstractChannel | None = None) -> AbstractQueue:
        channel = channel or self._require_channel()
        queue = await channel.declare_queue(
            self.topology.queue(spec), durable=spec.durable, exclusive=not spec.durable,
            auto_delete=not spec.durable, arguments=self.topology.queue_arguments_for(spec),
        )  # fmt: skip
        for binding in spec.bindings:
            await queue.bind(self.topology.exchange(binding.exchange), binding.routing_key)
        return queue

    async def consume(self, spec: QueueSpec, handler: DeliveryHandler) -> Consumer:
        """Consume with manual acks and bounded prefetch; an exception in the handler requeues the message.

        Consumed straight on the channel's aiormq channel; after a reconnection the robust channel is
        reopened (qos, queue, bindings) and the consumer subscribes again on the new one."""
        channel = await self.connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=spec.prefetch)
        await self.declare_queue(spec, channel)
        consumer = Consumer(channel, self.topology.queue(spec), handler, self._acks_for, self.sender,
                            self.publish_dead_letter)  # fmt: skip
        await consumer.start()
        channel.reopen_callbacks.add(consumer.restart)  # type: ignore[attr-defined]
        return consumer

    async def publish(self, out: Outgoing) -> None:
        """Publish persistently, mandatory, and wait for the broker's confirm.

        Straight onto the confirming channel's current aiormq channel (the robust channel replaces it
        after a reconnection): no aio-pika Message or Exchange objects on the hot path. A body over
        ``MAX_MESSAGE_BYTES`` raises ``MessageTooLarge`` (RabbitMQ's own ``max_message_size`` is broker-wide)."""
        if len(out.body) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(f"{out.type} {out.message_id}: {len(out.body)} bytes, at most {MAX_MESSAGE_BYTES}")
        properties = aiormq.spec.Basic.Properties(
            content_type="application/json", delivery_mode=2, message_id=out.message_id,
            correlation_id=out.correlation_id, message_type=out.type, app_id=self.sender, reply_to=out.reply_to,
            user_id=self.user, headers={**out.headers, "x-published-us": time.time_ns() // 1000},
        )  # fmt: skip
        try:
            channel = await self._require_channel().get_underlay_channel()
            confirmation = await channel.basic_publish(
                out.body, exchange=self._exchange_names[out.exchange], routing_key=out.routing_key,
                properties=properties, mandatory=True,
            )  # fmt: skip
        except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishFailed(f"{out.type} {out.message_id}: {exc!r}") from exc
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise PublishFailed(f"{out.type} {out.message_id}: broker answered {confirmation!r}")

    async def publish_dead_letter(self, delivery: Delivery, why: DeadLetter) -> None:
        """Publish a copy of a delivery to the dead-letter exchange, with why in its headers, and wait for the
        confirm: same body and properties, the original routing key (see ``dead_letter.py``)."""
        original = delivery.properties
        headers = {**delivery.headers, **why.headers()}
        user_id = original.user_id
        if user_id and user_id != self.user:
            headers[USER_ID] = user_id  # RabbitMQ refuses a user_id that is not the publishing connection's
            user_id = None
        properties = aiormq.spec.Basic.Properties(
            content_type=original.content_type, delivery_mode=2, message_id=original.message_id,
            correlation_id=original.correlation_id, message_type=original.message_type, app_id=original.app_id,
            user_id=user_id, reply_to=original.reply_to, headers=headers,
        )  # fmt: skip
        try:
            channel = await self._require_channel().get_underlay_channel()
            confirmation = await channel.basic_publish(
                delivery.body, exchange=self.topology.dead_letter_exchange, routing_key=why.routing_key,
                properties=properties, mandatory=True,
            )  # fmt: skip
        except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishFailed(f"dead-letter copy of {delivery.message_id}: {exc!r}") from exc
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise PublishFailed(f"dead-letter copy of {delivery.message_id}: broker answered {confirmation!r}")

    async def publish_raw(self, exchange: str, routing_key: str, body: bytes, **properties: Any) -> None:
        """Publish arbitrary bytes (fault injection, poison messages) to an exchange of this namespace."""
        channel = self._require_channel()
        target = await channel.get_exchange(exchange, ensure=False)
        properties.setdefault("delivery_mode", aio_pika.DeliveryMode.PERSISTENT)
        await target.publish(aio_pika.Message(body, **properties), routing_key)

    async def republish(self, seen: Observed) -> None:
        """Publish an exact copy of a message the tap saw: same body, ids and routing (a duplicate); its user_id
        too when this connection logs in as that user (the broker refuses any other)."""
        headers = {k: v for k, v in seen.headers.items() if not k.startswith("x-death")}
        headers["x-published-us"] = time.time_ns() // 1000
        await self.publish_raw(
            seen.exchange, seen.routing_key, seen.body, type=seen.type, message_id=seen.message_id,
            correlation_id=seen.correlation_id, app_id=seen.sender, reply_to=seen.reply_to,
            headers=headers, content_type="application/json", user_id=seen.user_id if seen.user_id == self.user else None,
        )  # fmt: skip

    async def delete(self, queues: list[str], exchanges: list[str]) -> tuple[list[str], list[str]]:
        """Delete those of these queues and exchanges that exist (``sagalab clean``); returns the names deleted.

        Each name is first declared passively: a missing one (or a queue another connection holds exclusively)
        closes the channel with an error, which only means there is nothing of ours to delete there."""
        deleted: tuple[list[str], list[str]] = ([], [])
        channel = await self.connection.channel()
        for kind, names in enumerate((queues, exchanges)):
            for name in names:
                try:
                    if kind == 0:
                        await channel.declare_queue(name, passive=True)
                        await channel.queue_delete(name)
                    else:
                        await channel.declare_exchange(name, passive=True)
                        await channel.exchange_delete(name)
                    deleted[kind].append(name)
                except aiormq.exceptions.AMQPError:
                    channel = await self.connection.channel()
        await channel.close()
        return deleted

    def _acks_for(self, channel: aiormq.abc.AbstractChannel) -> BatchedAcks:
        """The ack batcher of the channel a delivery came on (a reconnection brings a new channel)."""
        acks = self._acks.get(id(channel))
        if acks is None or acks.channel is not channel:
            self._acks = {k: a for k, a in self._acks.items() if not a.channel.is_closed}
            acks = self._acks[id(channel)] = BatchedAcks(channel)
        return acks

    def _require_channel(self) -> AbstractChannel:
        if self._publish_channel is None:
            raise RuntimeError("Broker.connect() first")
        return self._publish_channel


def bindings(*pairs: tuple[ExchangeKind, str]) -> tuple[Binding, ...]:
    return tuple(Binding(exchange, key) for exchange, key in pairs)
