"""One incoming message as the service host sees it: its properties, its body, and the ways to settle it
(ack, requeue, dead-letter with a reason), none of which needs the host to know aio-pika.

Deliveries come straight from aiormq (no aio-pika ``IncomingMessage``, no extra task per delivery); every
settlement goes through the channel's ``BatchedAcks``, so acks, nacks and rejects reach the broker in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from shared.transport.acks import BatchedAcks
from shared.transport.dead_letter import DeadLetter, DeadLetterError

log = structlog.get_logger()

DeadLetterPublisher = Callable[["Delivery", DeadLetter], Awaitable[None]]
"""Publishes a copy of a delivery to the dead-letter exchange and waits for the confirm (the broker's job)."""


class Delivery:
    __slots__ = ("_message", "_acks", "_settled", "_headers", "_tag", "queue", "service", "_publish_dead")

    def __init__(
        self,
        message: DeliveredMessage,
        acks: BatchedAcks,
        queue: str = "",
        service: str = "",
        publish_dead: DeadLetterPublisher | None = None,
    ) -> None:
        self._message = message
        self._acks = acks
        self._settled = False
        self._headers: dict[str, Any] | None = None
        self._tag: int = int(message.delivery.delivery_tag or 0)  # type: ignore[union-attr]
        self.queue = queue
        self.service = service
        self._publish_dead = publish_dead
        acks.received(self._tag)

    @property
    def type(self) -> str | None:
        return self._message.header.properties.message_type

    @property
    def message_id(self) -> str | None:
        return self._message.header.properties.message_id

    @property
    def properties(self) -> Basic.Properties:
        return self._message.header.properties

    @property
    def exchange(self) -> str:
        """The exchange the message was published to."""
        return str(self._message.delivery.exchange or "")  # type: ignore[union-attr]

    @property
    def routing_key(self) -> str:
        """The routing key the message was published with."""
        return str(self._message.delivery.routing_key or "")  # type: ignore[union-attr]

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def reply_to(self) -> str | None:
        return self._message.header.properties.reply_to

    @property
    def headers(self) -> dict[str, Any]:
        if self._headers is None:
            self._headers = dict(self._message.header.properties.headers or {})
        return self._headers

    @property
    def sender(self) -> str | None:
        return self._message.header.properties.app_id

    @property
    def user_id(self) -> str | None:
        """The publisher's broker user, validated by RabbitMQ against the publishing connection's login."""
        return self._message.header.properties.user_id

    @property
    def delivery_count(self) -> int:
        """How many times the broker delivered this message before (quorum queues count it)."""
        return int(self.headers.get("x-delivery-count", 0) or 0)

    @property
    def redelivered(self) -> bool:
        return bool(self._message.delivery.redelivered)  # type: ignore[union-attr]

    @property
    def settled(self) -> bool:
        """Already acked, requeued or dead-lettered (``--unsafe ack-first`` acks on arrival)."""
        return self._settled

    async def ack(self) -> None:
        """Ack with this loop turn's other acks (a run of them becomes one ``multiple`` ack)."""
        if not self._settled:
            self._settled = True
            self._acks.ack(self._tag)

    async def ack_now(self) -> None:
        """Ack on its own, right away (``--unsafe ack-first``: the ack must reach the broker before anything)."""
        if not self._settled:
            self._settled = True
            await self._acks.ack_alone(self._tag)

    async def retry_later(self) -> None:
        """Requeue; the queue's delivery limit dead-letters it if it keeps coming back."""
        if not self._settled:
            self._settled = True
            await self._acks.nack(self._tag, requeue=True)

    async def reject(self) -> None:
        """Reject without requeue: the queue's dead-letter exchange gets it with the broker's ``x-death`` only."""
        if not self._settled:
            self._settled = True
            await self._acks.nack(self._tag, requeue=False)

    async def dead_letter(self, error: DeadLetterError, reason: str) -> None:
        """Dead-letter with why: a copy carrying the ``x-sagalab-*`` headers goes to the dead-letter exchange
        (confirmed), then the original is acked. If the copy cannot be published, the original is rejected,
        so the broker dead-letters it without the reason rather than losing it."""
        log.error("dead-lettering", error=error, reason=reason, message_id=self.message_id, queue=self.queue)
        why = DeadLetter(error, reason, self.service, self.queue, self.delivery_count + 1, self.exchange,
                         self.routing_key)  # fmt: skip
        try:
            if self._publish_dead is None:
                raise RuntimeError("no dead-letter publisher for this delivery")
            await self._publish_dead(self, why)
        except Exception as exc:  # the copy is lost, not the message: let the broker dead-letter it
            log.warning("could not publish the dead-letter copy; rejecting instead", error=repr(exc))
            await self.reject()
            return
        await self.ack()
