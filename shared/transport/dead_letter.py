"""Why a message was dead-lettered: the ``x-sagalab-*`` headers sagalab puts on a copy it dead-letters itself.

When a service refuses a message it publishes a copy (same body and properties, original routing key) to
the namespace's dead-letter exchange, with confirm, and only then acks the original. The copy says why;
``x-death`` headers instead mean the broker dead-lettered it on its own (the delivery limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DeadLetterError = Literal[
    "UndecodableMessage",
    "MissingMessageId",
    "MessageIdReused",
    "WrongPublisher",
    "OutOfBounds",
    "NoHandler",
    "HandlerFailed",
    "Unroutable",
]
"""The short error types a dead-lettered copy can carry (``x-sagalab-error``)."""

REASON = "x-sagalab-reason"
ERROR = "x-sagalab-error"
SERVICE = "x-sagalab-service"
QUEUE = "x-sagalab-queue"
ATTEMPTS = "x-sagalab-attempts"
EXCHANGE = "x-sagalab-exchange"
ROUTING_KEY = "x-sagalab-routing-key"
USER_ID = "x-sagalab-user-id"
"""The original ``user_id`` property, when it is not ours to set again (RabbitMQ checks it against the
publishing connection's user)."""


@dataclass(frozen=True)
class DeadLetter:
    """Why one delivery is dead-lettered, and where it came from (what a requeue needs)."""

    error: DeadLetterError
    reason: str
    service: str
    queue: str
    attempts: int
    exchange: str
    routing_key: str

    def headers(self) -> dict[str, Any]:
        return {
            REASON: self.reason, ERROR: self.error, SERVICE: self.service, QUEUE: self.queue,
            ATTEMPTS: self.attempts, EXCHANGE: self.exchange, ROUTING_KEY: self.routing_key,
        }  # fmt: skip


def reason_of(headers: dict[str, Any]) -> str:
    """The error type of a dead-lettered message: ours if we dead-lettered it, else the broker's own reason
    (``delivery_limit``, ``rejected``, ``expired``, ``maxlen``) from ``x-death``."""
    if ours := headers.get(ERROR):
        return str(ours.decode() if isinstance(ours, bytes) else ours)
    deaths = headers.get("x-death") or [{}]
    reason = deaths[0].get("reason", "unknown")
    return str(reason.decode() if isinstance(reason, bytes) else reason)
