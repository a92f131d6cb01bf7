"""The service host: decode, dedupe, handle, commit, ack, publish — the same for every service and mode."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from shared.contracts import Message
from shared.messaging.broker import Broker, Consumer, PublishFailed
from shared.messaging.delivery import Delivery
from shared.messaging.topology import QueueSpec
from shared.runtime.group_commit import GroupCommit
from shared.runtime.publishers import NO_PUBLISHER_CHECK, PublisherCheck, dead_letter_wrong_publisher
from shared.runtime.relay import OutboxRelay
from shared.stores.sqlite import Database, OutboxRow
from shared.wire import Outgoing, UndecodableMessage, decode

log = structlog.get_logger()


@dataclass
class Tx:
    """What a handler gets besides the message: the open local transaction and the delivery's addressing."""

    conn: sqlite3.Connection
    reply_to: str | None
    sender: str | None
    headers: Mapping[str, Any]
    defer_ack_until: str | None = None
    """Set by a handler that wants the delivery acked later, by ``ServiceHost.ack_deferred(key)``
    (an Express orchestrator acks an order only once its execution has finished)."""

    def defer_ack(self, key: str) -> None:
        self.defer_ack_until = key


Handle = Callable[[Message, Tx], list[Outgoing]]
"""Runs inside the local transaction; returns what to send. Synchronous on purpose: no await can
interleave another delivery between the inbox check and the commit."""


@dataclass(frozen=True)
class Route:
    handle: Handle
    on_error: Callable[[Message, Exception, Tx], list[Outgoing]] | None = None
    """What to send when ``handle`` raises (orchestration replies TaskFailed); None requeues the message."""
    inbox: bool = True
    """Dedupe by the inbox; off only where redelivery must redo the work (Express executions)."""
    outbox: bool = True
    """Stage outgoing messages in the outbox; off only for state kept in memory (Express)."""


@dataclass(frozen=True)
class Subscription:
    queue: QueueSpec
    routes: Mapping[type[Message], Route]


class FaultHook(Protocol):
    """Lets a scenario crash, slow or break a service at a named point; production runs with ``NO_FAULTS``."""

    async def at(self, point: str, message: Message) -> None: ...
    def check(self, message: Message) -> None: ...


class _NoFaults:
    async def at(self, point: str, message: Message) -> None:
        return None

    def check(self, message: Message) -> None:
        return None


NO_FAULTS: FaultHook = _NoFaults()


@dataclass
class ServiceHost:
    """Runs one service: its subscriptions, its database, its outbox relay and any background loops."""

    service: str
    db: Database
    broker: Broker
    subscriptions: Sequence[Subscription]
    unsafe: frozenset[str] = frozenset()
    faults: FaultHook = NO_FAULTS
    publishers: PublisherCheck = NO_PUBLISHER_CHECK
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = ()
    relay: OutboxRelay = field(init=False)
    stopping: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    handled: int = field(init=False, default=0)
    """Deliveries settled so far (acked, requeued or dead-lettered): what tests wait on."""
    _active: int = field(init=False, default=0)
    _idle: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _consumers: list[Consumer] = field(init=False, default_factory=list)
    _deferred: dict[str, list[Delivery]] = field(init=False, default_factory=dict)
    _acked_early: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.relay = OutboxRelay(self.db, self.broker)
        self._group = GroupCommit(self.db, also=self.relay.flush_into)
        self._idle.set()

    async def start(self) -> None:
        await self.relay.sweep(older_than_s=0.0)  # whatever a previous crash left staged
        self._tasks.append(asyncio.create_task(self.relay.run(self.stopping)))
        for loop in self.background:
            self._tasks.append(asyncio.create_task(loop(self.stopping)))
        for sub in self.subscriptions:
            self._consumers.append(await self.broker.consume(sub.queue, self._handler_for(sub)))

    async def stop(self, grace_s: float = 30.0) -> None:
        """Stop consuming, let in-flight deliveries finish, publish what is staged, close."""
        for consumer in self._consumers:
            await consumer.cancel()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=grace_s)
        except TimeoutError:
            log.warning("stopping with deliveries still in flight", active=self._active)
        self.stopping.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.relay.drain()

    async def send(self, rows: Sequence[OutboxRow]) -> None:
        """Hand freshly committed outbox rows to the relay (used by background loops too)."""
        await self.relay.send(rows)

    async def publish_now(self, messages: Sequence[Outgoing]) -> None:
        """Publish without staging (state kept in memory has nothing to stage against)."""
        for out in messages:
            await self.broker.publish(out)

    async def _publish_quietly(self, messages: Sequence[Outgoing]) -> None:
        try:
            await self.publish_now(messages)
        except PublishFailed as exc:
            log.warning("publish failed after commit", error=str(exc))

    async def ack_deferred(self, key: str) -> None:
        """Ack the deliveries a handler deferred under ``key`` (or, if none is parked yet, the next one)."""
        deliveries = self._deferred.pop(key, None)
        if deliveries is None:
            self._acked_early.add(key)
        for delivery in deliveries or []:
            await delivery.ack()

    def _handler_for(self, sub: Subscription) -> Callable[[Delivery], Awaitable[None]]:
        consumer = self.service if not sub.queue.suffix else f"{self.service}.{sub.queue.suffix}"

        async def on_delivery(delivery: Delivery) -> None:
            self._active += 1
            self._idle.clear()
            try:
                await self._deliver(consumer, sub, delivery)
            finally:
                self.handled += 1
                self._active -= 1
                if self._active == 0:
                    self._idle.set()

        return on_delivery

    async def _deliver(self, consumer: str, sub: Subscription, delivery: Delivery) -> None:
        started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        if "ack-first" in self.unsafe:
            await delivery.ack_now()
        try:
            message = decode(delivery.type, delivery.body)
        except UndecodableMessage as exc:
            log.error("dead-lettering a message that cannot be decoded", reason=str(exc),
                      message_id=delivery.message_id, sender=delivery.sender)  # fmt: skip
            await delivery.dead_letter()
            return
        structlog.contextvars.bind_contextvars(
            correlation_id=message.correlation_id, message_type=type(message).__name__, message_id=message.message_id
        )
        if (wrong := self.publishers.refusal(message, delivery.user_id)) is not None:
            log.error("dead-lettering a message from the wrong publisher", reason=wrong)
            await dead_letter_wrong_publisher(self.broker, delivery, self.service, self.broker.topology.queue(sub.queue), wrong)
            return
        route = sub.routes.get(type(message))
        if route is None:
            log.error("dead-lettering a message this queue has no handler for")
            await delivery.dead_letter()
            return
        await self.faults.at("before-commit", message)
        tx_meta = dict(reply_to=delivery.reply_to, sender=delivery.sender, headers=delivery.headers)
        try:
            staged, duplicate, defer_key = await self._group.run(
                self._work(consumer, message, route, tx_meta), alone=self._active == 1
            )
        except Exception as exc:  # a bug or an infrastructure fault, not a business outcome
            await self._failed(message, route, exc, delivery, tx_meta)
            return
        await self.faults.at("after-commit", message)
        if defer_key is None or defer_key in self._acked_early:
            self._acked_early.discard(defer_key or "")
            await delivery.ack()
        else:
            self._deferred.setdefault(defer_key, []).append(delivery)
        if "no-outbox" in self.unsafe or not route.outbox or duplicate:
            # A replayed answer goes out again even if the first copy is still in flight: the asker
            # may be waiting for exactly this one, and its inbox drops whichever arrives second.
            await self._publish_quietly([row.message for row in staged])
        else:
            await self.relay.send(staged)
        log.info("handled", duplicate=duplicate, redelivered=delivery.redelivered,
                 sent=[r.message.type for r in staged], ms=round((time.perf_counter() - started) * 1000, 2))  # fmt: skip

    def _work(
        self, consumer: str, message: Message, route: Route, tx_meta: dict[str, Any]
    ) -> Callable[[sqlite3.Connection], tuple[list[OutboxRow], bool, str | None]]:
        """The local transaction's part for one delivery: inbox row, business effect and outgoing
        messages commit together (in a group transaction, see ``group_commit.py``)."""
        use_inbox = route.inbox and "no-inbox" not in self.unsafe
        use_outbox = route.outbox and "no-outbox" not in self.unsafe

        def work(conn: sqlite3.Connection) -> tuple[list[OutboxRow], bool, str | None]:
            if use_inbox and not Database.remember(conn, consumer, message.message_id):
                # An idempotent receiver answers a repeated command with the answer it gave the first time.
                return (self.db.staged_for(message.message_id) if tx_meta["reply_to"] else []), True, None
            self.faults.check(message)
            tx = Tx(conn, **tx_meta)
            outgoing = route.handle(message, tx)
            if not use_outbox:
                return [OutboxRow(0, out) for out in outgoing], False, tx.defer_ack_until
            seqs = Database.stage(conn, message.message_id, outgoing)
            return [OutboxRow(s, out) for s, out in zip(seqs, outgoing, strict=True)], False, tx.defer_ack_until

        return work

    async def _failed(
        self,
        message: Message,
        route: Route,
        exc: Exception,
        delivery: Delivery,
        tx_meta: dict[str, Any],
    ) -> None:
        if route.on_error is None:
            log.error("handler failed; requeueing (the queue's delivery limit bounds the retries)",
                      error=repr(exc), delivery_count=delivery.delivery_count, exc_info=exc)  # fmt: skip
            await delivery.retry_later()
            return
        log.warning("handler failed; answering with the error", error=repr(exc))
        with self.db.transaction() as conn:
            outgoing = route.on_error(message, exc, Tx(conn, **tx_meta))
            seqs = Database.stage(conn, None, outgoing)
        await delivery.ack()
        await self.relay.send([OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)])
        log.info("handled", failed=type(exc).__name__, sent=[o.type for o in outgoing])
