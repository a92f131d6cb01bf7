"""The default transport: aio-pika as its documentation uses it.

Consumed with ``queue.consume(callback, no_ack=False)`` on a robust channel (aio-pika subscribes again by itself
after a reconnection), each delivery settled through its ``IncomingMessage`` (``ack``, ``nack(requeue=True)``,
``reject``) as ``delivery.py``'s ack rule says, and published with ``exchange.publish(Message, mandatory=True)``
on a channel with publisher confirms whose returned messages raise.

Acks that fall due in the same turn of the event loop go out as one ``IncomingMessage.ack(multiple=True)``
(``acks.py`` decides the runs, never past an unsettled delivery): at a hundred sagas in flight, one frame per ack
was a third of each service's socket writes. A delivery is settled on the channel it came on, through its own
message object; on a channel that closed, the settlement fails, is logged, and the broker redelivers.
"""

from __future__ import annotations

from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue

from shared.transport.acks import BatchedAcks
from shared.transport.adapter import DeliveryHandler, Properties, PublishFailed
from shared.transport.delivery import DeadLetterPublisher, Delivery, handle


class IncomingSettler:
    """``BatchedAcks``' frames for one channel, sent through aio-pika: each tag settled by its own
    ``IncomingMessage`` (a ``multiple`` ack by the message of the run's last tag)."""

    def __init__(self, channel: aiormq.abc.AbstractChannel) -> None:
        self.channel = channel
        self._messages: dict[int, AbstractIncomingMessage] = {}  # unsettled, in tag order

    @property
    def is_closed(self) -> bool:
        return bool(self.channel.is_closed)

    def received(self, tag: int, message: AbstractIncomingMessage) -> None:
        self._messages[tag] = message

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        message = self._messages.pop(delivery_tag)
        if multiple:  # the run it covers is settled too
            while self._messages and (first := next(iter(self._messages))) < delivery_tag:
                del self._messages[first]
        await message.ack(multiple=multiple)

    async def basic_nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True,
                         wait: bool = True) -> None:  # fmt: skip
        message = self._messages.pop(delivery_tag)
        await (message.nack(requeue=True) if requeue else message.reject(requeue=False))


class PlainDelivery(Delivery):
    """A delivery read from, and settled through, aio-pika's ``IncomingMessage``."""

    __slots__ = ("_message", "_headers", "_acks", "_tag")

    def __init__(self, message: AbstractIncomingMessage, acks: BatchedAcks, queue: str, service: str,
                 publish_dead: DeadLetterPublisher | None) -> None:  # fmt: skip
        super().__init__(queue, service, publish_dead)
        self._message = message
        self._headers: dict[str, Any] | None = None
        self._acks = acks
        self._tag = int(message.delivery_tag or 0)
        acks.received(self._tag)

    @property
    def type(self) -> str | None:
        return self._message.type

    @property
    def message_id(self) -> str | None:
        return self._message.message_id

    @property
    def correlation_id(self) -> str | None:
        return self._message.correlation_id

    @property
    def content_type(self) -> str | None:
        return self._message.content_type

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def headers(self) -> dict[str, Any]:
        if self._headers is None:
            self._headers = dict(self._message.headers or {})
        return self._headers

    @property
    def reply_to(self) -> str | None:
        return self._message.reply_to

    @property
    def sender(self) -> str | None:
        return self._message.app_id

    @property
    def user_id(self) -> str | None:
        return self._message.user_id

    @property
    def redelivered(self) -> bool:
        return bool(self._message.redelivered)

    @property
    def exchange(self) -> str:
        return self._message.exchange or ""

    @property
    def routing_key(self) -> str:
        return self._message.routing_key or ""

    async def _ack(self) -> None:
        self._acks.ack(self._tag)  # with this loop turn's other acks

    async def _ack_alone(self) -> None:
        await self._acks.ack_alone(self._tag)

    async def _requeue(self) -> None:
        await self._acks.nack(self._tag, requeue=True)

    async def _reject(self) -> None:
        await self._acks.nack(self._tag, requeue=False)


class PlainConsumer:
    """A ``queue.consume`` subscription; the robust queue renews it after a reconnection."""

    def __init__(self, queue: AbstractQueue, tag: str) -> None:
        self._queue = queue
        self._tag = tag

    async def cancel(self) -> None:
        try:
            await self._queue.cancel(self._tag)
        except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError):
            pass  # the channel is gone, and with it the consumer


class PlainTransport:
    """The default ``Transport``: aio-pika's ``Queue``, ``IncomingMessage``, ``Exchange`` and ``Message``."""

    name = "plain"

    def __init__(self) -> None:
        self._exchanges: dict[tuple[int, str], AbstractExchange] = {}
        self._acks: dict[int, tuple[IncomingSettler, BatchedAcks]] = {}

    async def publish(self, channel: AbstractChannel, exchange: str, routing_key: str, body: bytes,
                      properties: Properties) -> None:  # fmt: skip
        message = aio_pika.Message(
            body, content_type=properties.content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=properties.message_id, correlation_id=properties.correlation_id, type=properties.type,
            app_id=properties.app_id, user_id=properties.user_id, reply_to=properties.reply_to,
            headers=properties.headers,
        )  # fmt: skip
        try:
            await (await self._exchange(channel, exchange)).publish(message, routing_key, mandatory=True)
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            # DeliveryError: nacked; PublishError: returned as unroutable; the rest: the channel dropped.
            raise PublishFailed(f"{properties.type} {properties.message_id}: {exc!r}") from exc

    async def consume(self, queue: AbstractQueue, handler: DeliveryHandler, service: str,
                      publish_dead: DeadLetterPublisher) -> PlainConsumer:  # fmt: skip
        async def on_message(message: AbstractIncomingMessage) -> None:
            settler, acks = self._acks_for(message.channel)
            settler.received(int(message.delivery_tag or 0), message)
            await handle(handler, PlainDelivery(message, acks, queue.name, service, publish_dead))

        return PlainConsumer(queue, await queue.consume(on_message, no_ack=False))

    def _acks_for(self, channel: aiormq.abc.AbstractChannel) -> tuple[IncomingSettler, BatchedAcks]:
        """The ack batcher of the channel a delivery came on (a reconnection brings a new channel, and a new
        batcher: a delivery's tag is only ever settled on its own channel)."""
        found = self._acks.get(id(channel))
        if found is None or found[0].channel is not channel:
            self._acks = {k: pair for k, pair in self._acks.items() if not pair[0].is_closed}
            settler = IncomingSettler(channel)
            found = self._acks[id(channel)] = (settler, BatchedAcks(settler))
        return found

    async def _exchange(self, channel: AbstractChannel, name: str) -> AbstractExchange:
        """The exchange object by name, made once per channel (declared by the broker; no round trip here)."""
        key = (id(channel), name)
        exchange = self._exchanges.get(key)
        if exchange is None:
            exchange = self._exchanges[key] = await channel.get_exchange(name, ensure=False)
        return exchange
