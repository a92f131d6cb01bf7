"""One incoming message as the service host sees it: its properties, its body, and the three ways to
settle it (ack, requeue, dead-letter), none of which needs the host to know aio-pika."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared.messaging.acks import BatchedAcks

log = structlog.get_logger()


class Delivery:
    __slots__ = ("_message", "_acks", "_settled", "_headers")

    def __init__(self, message: AbstractIncomingMessage, acks: BatchedAcks | None = None) -> None:
        self._message = message
        self._acks = acks
        self._settled = False
        self._headers: dict[str, Any] | None = None
        if acks is not None and message.delivery_tag is not None:
            acks.received(message.delivery_tag)

    @property
    def type(self) -> str | None:
        return self._message.type

    @property
    def message_id(self) -> str | None:
        return self._message.message_id

    @property
    def body(self) -> bytes:
        return self._message.body

    @property
    def reply_to(self) -> str | None:
        return self._message.reply_to

    @property
    def headers(self) -> dict[str, Any]:
        if self._headers is None:
            self._headers = dict(self._message.headers or {})
        return self._headers

    @property
    def sender(self) -> str | None:
        return self._message.app_id

    @property
    def delivery_count(self) -> int:
        """How many times the broker delivered this message before (quorum queues count it)."""
        return int(self.headers.get("x-delivery-count", 0) or 0)

    @property
    def redelivered(self) -> bool:
        return bool(self._message.redelivered)

    @property
    def settled(self) -> bool:
        """Already acked, requeued or dead-lettered (``--unsafe ack-first`` acks on arrival)."""
        return self._settled

    async def ack(self) -> None:
        if self._settled:
            return
        self._settled = True
        if self._acks is not None and self._message.delivery_tag is not None:
            self._acks.ack(self._message.delivery_tag)  # sent with this loop turn's other acks
        else:
            await self._quietly(self._message.ack)

    async def ack_now(self) -> None:
        """Ack on its own, right away (``--unsafe ack-first``: the ack must reach the broker before anything)."""
        await self._settle_alone(lambda acks, tag: acks.ack_alone(tag), self._message.ack)

    async def retry_later(self) -> None:
        """Requeue; the queue's delivery limit dead-letters it if it keeps coming back."""
        await self._settle_alone(lambda acks, tag: acks.nack(tag, requeue=True),
                                 lambda: self._message.nack(requeue=True))  # fmt: skip

    async def dead_letter(self) -> None:
        await self._settle_alone(lambda acks, tag: acks.nack(tag, requeue=False),
                                 lambda: self._message.reject(requeue=False))  # fmt: skip

    async def _settle_alone(
        self,
        in_order: Callable[[BatchedAcks, int], Awaitable[None]],
        directly: Callable[[], Awaitable[None]],
    ) -> None:
        if self._settled:
            return
        self._settled = True
        if self._acks is not None and self._message.delivery_tag is not None:
            await in_order(self._acks, self._message.delivery_tag)
        else:
            await self._quietly(directly)

    @staticmethod
    async def _quietly(how: Callable[[], Awaitable[None]]) -> None:
        try:
            await how()
        except (aio_pika.exceptions.AMQPError, aio_pika.exceptions.MessageProcessError, ConnectionError,
                RuntimeError) as exc:  # fmt: skip
            # The channel died under us: the broker will redeliver, and the inbox makes that harmless.
            log.warning("could not settle a delivery; the broker will redeliver it", error=repr(exc))
