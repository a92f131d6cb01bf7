"""Every exchange and queue name of a run, prefixed by its namespace, and how each is declared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.transport.wire import ExchangeKind

EXCHANGE_KINDS: tuple[ExchangeKind, ...] = ("events", "commands", "replies")
DELIVERY_LIMIT = 5
"""A valid message whose handler keeps failing is dead-lettered after this many redeliveries."""


@dataclass(frozen=True)
class Binding:
    exchange: ExchangeKind
    routing_key: str


@dataclass(frozen=True)
class QueueSpec:
    """A service's queue: what it is bound to and how much it may hold unacknowledged."""

    service: str
    bindings: tuple[Binding, ...]
    prefetch: int = 64
    suffix: str = ""
    delivery_limit: int = DELIVERY_LIMIT
    max_length: int | None = None
    """For sinks nobody consumes (notifications): keep the newest, drop the oldest."""
    durable: bool = True
    """False for a client's private reply queue: classic, exclusive, gone when the client disconnects."""


@dataclass(frozen=True)
class Topology:
    """Names for one namespace, so several runs or workshop participants can share a broker."""

    namespace: str = "sagalab"
    queue_arguments: dict[str, Any] = field(default_factory=dict)
    replicas: int = 1
    """Nodes of the cluster (several AMQP URLs): each quorum queue gets a member on every one of them."""

    def exchange(self, kind: ExchangeKind) -> str:
        return f"{self.namespace}.{kind}"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dead-letter"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.namespace}.dead-letters"

    @property
    def tap_queue(self) -> str:
        return f"{self.namespace}.tap"

    def queue(self, spec: QueueSpec) -> str:
        return f"{self.namespace}.{spec.service}{'.' + spec.suffix if spec.suffix else ''}"

    def queue_arguments_for(self, spec: QueueSpec) -> dict[str, Any]:
        """Quorum queues: durable, replicated log, and a native delivery limit for poison messages."""
        if not spec.durable:
            return {"x-dead-letter-exchange": self.dead_letter_exchange}
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-delivery-limit": spec.delivery_limit,
        }
        if spec.max_length is not None:
            arguments["x-max-length"] = spec.max_length
        if self.replicas > 1:
            arguments["x-quorum-initial-group-size"] = self.replicas
        return arguments | self.queue_arguments

    def side_queue_arguments(self) -> dict[str, Any]:
        """The tap and dead-letter queues: classic on a single broker, quorum on a cluster (a classic queue lives
        on one node and is gone with it)."""
        if self.replicas <= 1:
            return {}
        return {"x-queue-type": "quorum", "x-quorum-initial-group-size": self.replicas}


def key_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
