"""A message the tap saw: its properties and where it was routed (what traces record and injectors copy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Observed:
    """A message seen by a tap: its properties and where it was routed."""

    exchange: str
    routing_key: str
    type: str | None
    sender: str | None
    message_id: str | None
    correlation_id: str | None
    reply_to: str | None
    headers: dict[str, Any]
    body: bytes
    received_at: float
    user_id: str | None = None
    """The publisher's broker user, as RabbitMQ validated it."""
