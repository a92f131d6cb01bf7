"""Every exchange and queue name of a run, prefixed by its namespace, and how each is declared."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.transport.wire import ExchangeKind

EXCHANGE_KINDS: tuple[ExchangeKind, ...] = ("events", "commands", "replies")
Durability = Literal["strict", "light"]
DURABILITIES: tuple[Durability, ...] = ("strict", "light")
"""``strict``: quorum queues and publisher confirms (nothing the outbox marked sent is lost when the broker
crashes). ``light``: classic durable queues, persistent messages and no confirms (publish and move on), the
peer engine's settings: cheaper, and a broker crash can lose a publish the outbox already marked sent."""


class UnknownDurability(ValueError):
    """``SAGALAB_DURABILITY`` (or ``--durability``) names no durability."""


def default_durability() -> Durability:
    """``SAGALAB_DURABILITY``, else ``strict``: every process a run or bench starts inherits the setting, as it
    inherits ``SAGALAB_TRANSPORT``."""
    name = os.environ.get("SAGALAB_DURABILITY") or "strict"
    for known in DURABILITIES:
        if name == known:
            return known
    raise UnknownDurability(f"SAGALAB_DURABILITY={name!r} names no durability; use one of {', '.join(DURABILITIES)} "
                            "(or leave it unset for strict)")  # fmt: skip
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
    durability: Durability = field(default_factory=default_durability)
    """How the namespace's queues are declared and whether publishes wait for the broker's confirm."""

    @property
    def confirms(self) -> bool:
        """Publisher confirms: awaited under ``strict``, not asked for under ``light``."""
        return self.durability == "strict"

    @property
    def queue_type(self) -> str:
        return "quorum" if self.durability == "strict" else "classic"

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
        """``strict``: quorum queues (durable, a replicated log fsync'd before the confirm, and a native delivery
        limit for poison messages). ``light``: classic durable queues, which have no delivery limit: the host
        counts a failing message's attempts itself (``shared/runtime/failures.py``)."""
        if not spec.durable:
            return {"x-dead-letter-exchange": self.dead_letter_exchange}
        arguments: dict[str, Any] = {"x-queue-type": self.queue_type, "x-dead-letter-exchange": self.dead_letter_exchange}
        if self.durability == "strict":
            arguments["x-delivery-limit"] = spec.delivery_limit
        if spec.max_length is not None:
            arguments["x-max-length"] = spec.max_length
        if self.replicas > 1 and self.durability == "strict":
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
