"""The opt-in fast transport (``SAGALAB_TRANSPORT=fast``): aio-pika's connection and channels, aiormq underneath.

It consumes with ``basic_consume`` on the robust channel's aiormq channel (no ``IncomingMessage``, no extra task
per delivery), settles through the channel's ``BatchedAcks`` (a run of acks becomes one ``multiple`` ack) and
publishes straight onto the confirming channel's aiormq channel (no ``Message`` or ``Exchange`` objects).

What it has to take care of itself, which the plain transport leaves to aio-pika:

- **re-subscribing**: after a reconnection the robust channel is reopened (qos, queue, bindings) and the
  consumer subscribes again on the new aiormq channel (``reopen_callbacks``);
- **acks across a reconnection**: a delivery is settled on the aiormq channel it came on, never on the one
  that replaced it (its delivery tag means nothing there); on the closed channel the settlement fails, is
  logged, and the broker redelivers the message;
- **errors on the ack channel**: logged (``acks.py``); the robust channel reopens itself after a channel
  error, and the broker redelivers whatever the failed channel held unacked.
"""

from __future__ import annotations

from typing import Any, cast

import aiormq
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustChannel
from aiormq.abc import DeliveredMessage

from shared.transport.acks import BatchedAcks
from shared.transport.adapter import DeliveryHandler, Properties, PublishFailed
from shared.transport.delivery import DeadLetterPublisher, Delivery, handle


class FastDelivery(Delivery):
    """A delivery read straight from aiormq, settled through its channel's ``BatchedAcks``."""

    __slots__ = ("_message", "_acks", "_headers", "_tag")

    def __init__(self, message: DeliveredMessage, acks: BatchedAcks, queue: str = "", service: str = "",
                 publish_dead: DeadLetterPublisher | None = None) -> None:  # fmt: skip
        super().__init__(queue, service, publish_dead)
        self._message = message
        self._acks = acks
        self._headers: dict[str, Any] | None = None
        self._tag: int = int(message.delivery.delivery_tag or 0)  # type: ignore[union-attr]
        acks.received(self._tag)

    @property
    def type(self) -> str | None:
        return self._message.header.properties.message_type

    @property
    def message_id(self) -> str | None:
        return self._message.header.properties.message_id

    @property
    def correlation_id(self) -> str | None:
        return self._message.header.properties.correlation_id

    @property
    def content_type(self) -> str | None:
        return self._message.header.properties.content_type

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def headers(self) -> dict[str, Any]:
        if self._headers is None:
            self._headers = dict(self._message.header.properties.headers or {})
        return self._headers

    @property
    def reply_to(self) -> str | None:
        return self._message.header.properties.reply_to

    @property
    def sender(self) -> str | None:
        return self._message.header.properties.app_id

    @property
    def user_id(self) -> str | None:
        return self._message.header.properties.user_id

    @property
    def redelivered(self) -> bool:
        return bool(self._message.delivery.redelivered)  # type: ignore[union-attr]

    @property
    def exchange(self) -> str:
        return str(self._message.delivery.exchange or "")  # type: ignore[union-attr]

    @property
    def routing_key(self) -> str:
        return str(self._message.delivery.routing_key or "")  # type: ignore[union-attr]

    async def _ack(self) -> None:
        self._acks.ack(self._tag)  # with this loop turn's other acks

    async def _ack_alone(self) -> None:
        await self._acks.ack_alone(self._tag)

    async def _requeue(self) -> None:
        await self._acks.nack(self._tag, requeue=True)

    async def _reject(self) -> None:
        await self._acks.nack(self._tag, requeue=False)


class FastConsumer:
    """A ``basic_consume`` on a robust channel's aiormq channel, renewed on each channel that replaces it."""

    def __init__(self, channel: AbstractRobustChannel, queue: str, handler: DeliveryHandler,
                 transport: FastTransport, service: str, publish_dead: DeadLetterPublisher) -> None:  # fmt: skip
        self.channel = channel
        self.queue = queue
        self._handler = handler
        self._transport = transport
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
        acks = self._transport.acks_for(message.channel)
        await handle(self._handler, FastDelivery(message, acks, self.queue, self._service, self._publish_dead))


class FastTransport:
    """The opt-in ``Transport``: aiormq's ``basic_consume`` and ``basic_publish`` under aio-pika's channels."""

    name = "fast"

    def __init__(self) -> None:
        self._acks: dict[int, BatchedAcks] = {}

    async def publish(self, channel: AbstractChannel, exchange: str, routing_key: str, body: bytes,
                      properties: Properties) -> None:  # fmt: skip
        amqp = aiormq.spec.Basic.Properties(
            content_type=properties.content_type, delivery_mode=2, message_id=properties.message_id,
            correlation_id=properties.correlation_id, message_type=properties.type, app_id=properties.app_id,
            user_id=properties.user_id, reply_to=properties.reply_to, headers=properties.headers,
        )  # fmt: skip
        try:
            underlay = cast(aiormq.Channel, await channel.get_underlay_channel())  # the abstract class lacks confirms
            # With confirms on, the broker's ack says the frames left (and arrived): waiting for the socket to
            # drain as well costs a future and a wake-up per publish for nothing. Without confirms (light),
            # the drain is all there is to wait for.
            confirmation = await underlay.basic_publish(body, exchange=exchange, routing_key=routing_key,
                                                        properties=amqp, mandatory=True,
                                                        wait=not underlay.publisher_confirms)  # fmt: skip
        except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishFailed(f"{properties.type} {properties.message_id}: {exc!r}") from exc
        if confirmation is None and not underlay.publisher_confirms:
            return  # light durability: no confirm asked for, none awaited
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise PublishFailed(f"{properties.type} {properties.message_id}: broker answered {confirmation!r}")

    async def consume(self, queue: AbstractQueue, handler: DeliveryHandler, service: str,
                      publish_dead: DeadLetterPublisher) -> FastConsumer:  # fmt: skip
        channel = cast(AbstractRobustChannel, queue.channel)
        consumer = FastConsumer(channel, queue.name, handler, self, service, publish_dead)
        await consumer.start()
        channel.reopen_callbacks.add(consumer.restart)
        return consumer

    def acks_for(self, channel: aiormq.abc.AbstractChannel) -> BatchedAcks:
        """The ack batcher of the channel a delivery came on (a reconnection brings a new channel, and a new
        batcher: a delivery's tag is only ever settled on its own channel)."""
        acks = self._acks.get(id(channel))
        if acks is None or acks.channel is not channel:
            self._acks = {k: a for k, a in self._acks.items() if not a.channel.is_closed}
            acks = self._acks[id(channel)] = BatchedAcks(channel)
        return acks
