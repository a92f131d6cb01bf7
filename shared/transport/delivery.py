"""One incoming message as the service host sees it, and the ack rule every adapter follows.

The ack rule, in one place:

- **ack only after the local commit**: the host calls ``ack()`` once the inbox row, the effect and the outbox
  rows are committed (a crash before that leaves the message unacked, and the broker delivers it again);
- **an exception requeues**: ``handle`` below settles a delivery whose handler raised with ``retry_later()``
  (the queue's delivery limit dead-letters one that fails forever);
- **undecodable or invalid goes to the dead-letter queue with a reason**: ``dead_letter(error, reason)``
  publishes a confirmed copy carrying the ``x-sagalab-*`` headers, then acks (or, if the copy cannot be
  published, rejects, so the broker dead-letters it without the reason rather than losing it);
- **deliberately unacked until later**: a handler may leave a delivery unsettled (an Express order until its
  execution ends) and settle it afterwards; nothing here acks it by default.

A settlement that cannot reach the broker (the channel the message came on closed, the connection dropped) is
logged, never retried on another channel: the broker delivers the message again, and the inbox drops the copy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import aiormq
import structlog

from shared.transport.dead_letter import DeadLetter, DeadLetterError

log = structlog.get_logger()

DeadLetterPublisher = Callable[["Delivery", DeadLetter], Awaitable[None]]
"""Publishes a copy of a delivery to the dead-letter exchange and waits for the confirm (the broker's job)."""

SETTLE_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError)
"""What a settlement on a closed or failed channel raises (aiormq's channel-state errors are RuntimeErrors)."""


class Delivery(ABC):
    """A delivery's properties and body, and the ways to settle it; an adapter says how each is read and sent."""

    __slots__ = ("_settled", "queue", "service", "_publish_dead")

    def __init__(self, queue: str = "", service: str = "", publish_dead: DeadLetterPublisher | None = None) -> None:
        self._settled = False
        self.queue = queue
        self.service = service
        self._publish_dead = publish_dead

    # What the message says (read from the adapter's own message object).
    @property
    @abstractmethod
    def type(self) -> str | None: ...
    @property
    @abstractmethod
    def message_id(self) -> str | None: ...
    @property
    @abstractmethod
    def correlation_id(self) -> str | None: ...
    @property
    @abstractmethod
    def content_type(self) -> str | None: ...
    @property
    @abstractmethod
    def body(self) -> bytes: ...
    @property
    @abstractmethod
    def headers(self) -> dict[str, Any]: ...
    @property
    @abstractmethod
    def reply_to(self) -> str | None: ...
    @property
    @abstractmethod
    def sender(self) -> str | None: ...

    @property
    @abstractmethod
    def user_id(self) -> str | None:
        """The publisher's broker user, validated by RabbitMQ against the publishing connection's login."""

    @property
    @abstractmethod
    def redelivered(self) -> bool: ...

    @property
    @abstractmethod
    def exchange(self) -> str:
        """The exchange the message was published to."""

    @property
    @abstractmethod
    def routing_key(self) -> str:
        """The routing key the message was published with."""

    @property
    def delivery_count(self) -> int:
        """How many times the broker delivered this message before (quorum queues count it)."""
        return int(self.headers.get("x-delivery-count", 0) or 0)

    @property
    def settled(self) -> bool:
        """Already acked, requeued or dead-lettered (``--unsafe ack-first`` acks on arrival)."""
        return self._settled

    # How a settlement reaches the broker (the adapter's part).
    @abstractmethod
    async def _ack(self) -> None: ...
    @abstractmethod
    async def _requeue(self) -> None: ...
    @abstractmethod
    async def _reject(self) -> None: ...

    async def _ack_alone(self) -> None:
        await self._ack()

    async def ack(self) -> None:
        """Ack: the work is committed."""
        await self._settle("ack", self._ack)

    async def ack_now(self) -> None:
        """Ack on its own, right away (``--unsafe ack-first``: the ack must reach the broker before anything)."""
        await self._settle("ack", self._ack_alone)

    async def retry_later(self) -> None:
        """Requeue; the queue's delivery limit dead-letters it if it keeps coming back."""
        await self._settle("requeue", self._requeue)

    async def reject(self) -> None:
        """Reject without requeue: the queue's dead-letter exchange gets it with the broker's ``x-death`` only."""
        await self._settle("reject", self._reject)

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

    async def _settle(self, kind: str, send: Callable[[], Awaitable[None]]) -> None:
        if self._settled:
            return
        self._settled = True
        try:
            await send()
        except SETTLE_ERRORS as exc:  # its channel is gone: the broker delivers it again, on the new one
            log.warning("could not settle a delivery; the broker will redeliver it", settlement=kind,
                        error=repr(exc), message_id=self.message_id, queue=self.queue)  # fmt: skip


async def handle(handler: Callable[[Delivery], Awaitable[None]], delivery: Delivery) -> None:
    """Run the host's handler on one delivery; an exception it lets out requeues the delivery."""
    try:
        await handler(delivery)
    except Exception:
        log.exception("delivery handler raised; requeued", queue=delivery.queue)
        await delivery.retry_later()
