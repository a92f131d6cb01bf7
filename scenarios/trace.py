"""The run's trace: every message that crossed the broker, recorded by the tap, counted and saved."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.domain.contracts import MESSAGE_TYPES
from shared.domain.ledger import LEDGER_TYPES
from shared.runtime.publishers import broker_user, expected_publisher
from shared.transport.dead_letter import reason_of
from shared.transport.observed import Observed
from shared.transport.topology import QueueSpec, Topology, key_matches

MARKER_TYPE = "sagalab.TapMarker"


@dataclass(frozen=True)
class TraceRecord:
    t: float
    type: str
    sender: str
    receivers: list[str]
    exchange: str
    routing_key: str
    message_id: str
    correlation_id: str
    causation_id: str | None
    state: str | None
    attempt: int | None
    dead_lettered: bool
    dead_letter_reason: str | None
    """sagalab's own error type (``x-sagalab-error``: ``WrongPublisher``...) or the broker's ``x-death`` reason."""
    user_id: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    """The few business fields the order's failure story reads (``STORY_FACTS``): a failure's reason, a
    task's error and cause, what a compensation undid (0 or false: it had nothing to undo)."""


def repeat_marks(records: Sequence[TraceRecord]) -> list[str]:
    """What a reader of one order's timeline must be told of each message that repeats another (row numbers
    from 1): a copy under the same message id (the inbox drops it), a copy under a new id (the business key
    answers it), a retry of a command ('' for every other message)."""
    first: dict[str, int] = {}
    tries: dict[str, set[int | None]] = {}
    marks: list[str] = []
    for row, r in enumerate(records, 1):
        mark = ""
        if r.dead_lettered:
            pass  # a dead letter says so itself
        elif r.message_id in first and r.attempt in tries[r.message_id]:
            mark = f"copy of #{first[r.message_id]}, same message id: the inbox drops it"
        elif r.message_id in first:
            tries[r.message_id].add(r.attempt)
            mark = f"retry of #{first[r.message_id]}"
        elif r.message_id.startswith("copy-"):
            mark = "a copy under a new message id: the business key answers it with the first outcome"
        if not r.dead_lettered and r.message_id not in first:
            first[r.message_id], tries[r.message_id] = row, {r.attempt}
        marks.append(mark)
    return marks


STORY_FACTS = ("reason", "error", "cause", "amount_cents", "quantity", "was_scheduled")
_FACT_CHARS = 300


def story_facts(body: object) -> dict[str, Any]:
    """The ``STORY_FACTS`` a message body carries, strings cut to a few hundred characters."""
    if not isinstance(body, dict):
        return {}
    facts = {k: body[k] for k in STORY_FACTS if isinstance(body.get(k), (str, int, bool))}
    return {k: v[:_FACT_CHARS] if isinstance(v, str) else v for k, v in facts.items()}


@dataclass
class Trace:
    """Messages in the order the tap saw them; dead-lettered copies are kept apart from the count."""

    topology: Topology
    queues: Sequence[QueueSpec]
    records: list[TraceRecord] = field(default_factory=list)
    marker_seen: set[str] = field(default_factory=set)
    _seen: dict[str, list[Observed]] = field(default_factory=dict)
    _recorded: set[tuple[object, ...]] = field(default_factory=set)
    _waiters: list[tuple[str, int, asyncio.Future[Observed]]] = field(default_factory=list)
    _record_waiters: list[tuple[Callable[[TraceRecord], bool], asyncio.Future[TraceRecord]]] = field(
        default_factory=list
    )

    async def seen(self, type_name: str, nth: int = 1) -> Observed:
        """Wait until the tap has seen the nth message of a type (fault injectors trigger on this)."""
        already = self._seen.get(type_name, [])
        if len(already) >= nth:
            return already[nth - 1]
        future: asyncio.Future[Observed] = asyncio.get_running_loop().create_future()
        self._waiters.append((type_name, nth, future))
        return await future

    async def record(self, matches: Callable[[TraceRecord], bool]) -> TraceRecord:
        """Wait until the trace holds a record that matches (dead-lettered copies included)."""
        if found := next((r for r in self.records if matches(r)), None):
            return found
        future: asyncio.Future[TraceRecord] = asyncio.get_running_loop().create_future()
        self._record_waiters.append((matches, future))
        return await future

    def random_seen(self, rng: random.Random, types: Collection[str] | None = None) -> Observed | None:
        """Any message seen so far, or any of these types (chaos duplicates or forges one)."""
        candidates = [s for t in sorted(self._seen) if types is None or t in types for s in self._seen[t]
                      if not (s.message_id or "").startswith(("poison", "forged"))]  # fmt: skip
        return rng.choice(candidates) if candidates else None

    def observe(self, seen: Observed) -> None:
        if seen.type == MARKER_TYPE:
            self.marker_seen.add(seen.message_id or "")
            return
        if seen.type in LEDGER_TYPES:
            return  # the oracle asking a participant for its ledger: not part of any saga, never counted
        identity = (seen.message_id, seen.exchange, seen.routing_key, seen.headers.get("x-published-us"),
                    repr(seen.headers.get("x-death")))  # fmt: skip
        if identity in self._recorded:
            return  # the tap's own redelivery after a dropped connection, not a second message
        self._recorded.add(identity)
        if seen.exchange != self.topology.dead_letter_exchange and seen.type:
            got = self._seen.setdefault(seen.type, [])
            got.append(seen)
            for waiter in [w for w in self._waiters if w[0] == seen.type and w[1] == len(got)]:
                self._waiters.remove(waiter)
                if not waiter[2].done():
                    waiter[2].set_result(seen)
        dead = seen.exchange == self.topology.dead_letter_exchange
        try:
            body = json.loads(seen.body)
        except ValueError:
            body = None
        causation = body.get("causation_id") if isinstance(body, dict) else None
        self.records.append(TraceRecord(
            t=published / 1e6 if (published := seen.headers.get("x-published-us")) else seen.received_at,
            type=seen.type or "?", sender=seen.sender or "?",
            receivers=["dead-letters"] if dead else self._receivers(seen.exchange, seen.routing_key),
            exchange=seen.exchange, routing_key=seen.routing_key,
            message_id=seen.message_id or "", correlation_id=seen.correlation_id or "",
            causation_id=causation, state=seen.headers.get("x-state"),
            attempt=seen.headers.get("x-attempt"), dead_lettered=dead,
            dead_letter_reason=reason_of(seen.headers) if dead else None,
            user_id=seen.user_id or seen.headers.get("x-sagalab-user-id") or None, facts=story_facts(body),
        ))  # fmt: skip
        for record_waiter in [w for w in self._record_waiters if w[0](self.records[-1])]:
            self._record_waiters.remove(record_waiter)
            if not record_waiter[1].done():
                record_waiter[1].set_result(self.records[-1])

    def _receivers(self, exchange: str, key: str) -> list[str]:
        return sorted({
            spec.service for spec in self.queues for b in spec.bindings
            if self.topology.exchange(b.exchange) == exchange and key_matches(b.routing_key, key)
        })  # fmt: skip

    @property
    def delivered(self) -> list[TraceRecord]:
        return [r for r in self.records if not r.dead_lettered]

    def by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.delivered).items()))

    def from_own_users(self, namespace: str) -> bool:
        """Every delivered message a service sends was published by that service's own broker user."""
        owned = [(r, owner) for r in self.delivered
                 if (cls := MESSAGE_TYPES.get(r.type)) and (owner := expected_publisher(cls))]  # fmt: skip
        return bool(owned) and all(r.user_id == broker_user(namespace, owner) for r, owner in owned)

    def dead_lettered(self) -> int:
        return sum(1 for r in self.records if r.dead_lettered)

    def dead_lettered_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(r.dead_letter_reason or "unknown" for r in self.records if r.dead_lettered).items()))

    def for_order(self, order_id: str) -> list[TraceRecord]:
        return [r for r in self.records if r.correlation_id == order_id]

    def save(self, path: Path) -> None:
        with path.open("w") as f:
            for r in self.records:
                f.write(json.dumps(asdict(r)) + "\n")


def load_trace(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
