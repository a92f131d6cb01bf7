"""The small interface between the broker and the two ways of consuming and publishing (``plain``, ``fast``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aio_pika.abc import AbstractChannel, AbstractQueue

from shared.transport.delivery import DeadLetterPublisher, Delivery

DeliveryHandler = Callable[[Delivery], Awaitable[None]]


class PublishFailed(Exception):
    """The broker did not confirm a publish (nacked, returned as unroutable, or the connection dropped)."""


@dataclass(frozen=True)
class Properties:
    """The AMQP properties sagalab sets on a message, whichever client library writes them."""

    message_id: str | None
    correlation_id: str | None
    type: str | None
    app_id: str | None
    user_id: str | None
    reply_to: str | None
    content_type: str | None = "application/json"
    headers: dict[str, Any] = field(default_factory=dict)


class Consumer(Protocol):
    """A running consumer of one queue; ``cancel`` stops new deliveries (in-flight ones still settle)."""

    async def cancel(self) -> None: ...


class Transport(Protocol):
    """How a process publishes with confirms and consumes with manual acks; the ``Broker`` does the rest.

    ``plain`` (aio-pika's own objects) is the default; ``fast`` (aiormq underneath, batched acks) is opt-in
    with ``SAGALAB_TRANSPORT=fast``. Either way the host sees the same ``Delivery``."""

    async def publish(self, channel: AbstractChannel, exchange: str, routing_key: str, body: bytes,
                      properties: Properties) -> None:  # fmt: skip
        """Publish persistently and mandatory, and wait for the confirm; raises ``PublishFailed``."""
        ...

    async def consume(self, queue: AbstractQueue, handler: DeliveryHandler, service: str,
                      publish_dead: DeadLetterPublisher) -> Consumer:  # fmt: skip
        """Consume this queue (declared on its own robust, qos-set channel) with manual acks, by the ack rule."""
        ...
