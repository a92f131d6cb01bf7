"""The service host: accept, fence, dedupe, handle, commit, ack, publish — the same for every service and mode.

The core path is ``ServiceHost._deliver``: accept the delivery (or dead-letter it saying why); run barrier,
inbox, business key, effect and outbox staging in one local transaction (``_work``); then let the route's
ack policy settle the delivery (``routes.Acks``: at once, for every participant) and publish what was staged.
Policy lives beside it: when to ack (``routes.py``), how transactions are grouped (``group_commit.py``), what a
handler that raised leads to (``failures.py``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog

from shared.domain.contracts import Message
from shared.runtime.failures import HandlerFailures
from shared.runtime.group_commit import Committer, GroupCommit, OneByOne
from shared.runtime.pruner import Pruning
from shared.runtime.publishers import NO_PUBLISHER_CHECK, PublisherCheck
from shared.runtime.relay import OutboxRelay
from shared.runtime.routes import Route, Subscription, Tx
from shared.stores.sqlite import Database, OutboxRow
from shared.transport.broker import Broker, Consumer, PublishFailed
from shared.transport.delivery import Delivery
from shared.transport.wire import Outgoing, UndecodableMessage, answered_again, decode_delivery, digest

log = structlog.get_logger()


ALREADY_DONE = "already done for order"
"""How the business key's answer reads in the ``refusals`` table (the run's result counts it apart)."""

Verdict = Literal["handled", "duplicate", "refused", "answered-again", "reused"]


@dataclass(frozen=True)
class _Done:
    """What one delivery's local transaction decided and committed."""

    verdict: Verdict
    sent: list[OutboxRow] = field(default_factory=list)


class FaultHook(Protocol):
    """Lets a scenario crash, slow or break a service at a named point; production runs with ``NO_FAULTS``."""

    async def at(self, point: str, message: Message) -> None: ...
    def check(self, message: Message) -> None: ...
    def acks_last(self, message: Message) -> bool: ...
    async def outgoing(self, out: Outgoing) -> bool: ...
    async def sent(self, out: Outgoing) -> None: ...


class _NoFaults:
    async def at(self, point: str, message: Message) -> None:
        return None

    def check(self, message: Message) -> None:
        return None

    def acks_last(self, message: Message) -> bool:
        return False

    async def outgoing(self, out: Outgoing) -> bool:
        return True

    async def sent(self, out: Outgoing) -> None:
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
    pruning: Pruning = field(default_factory=Pruning)
    """What the host deletes once it has aged past its horizon (``pruner.py``): the inbox, the outbox, ..."""
    grouped: bool = True
    """Group commit (``group_commit.py``): fewer transactions under load; False commits one by one."""
    relay: OutboxRelay = field(init=False)
    stopping: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    handled: int = field(init=False, default=0)
    """Deliveries settled so far (acked, requeued or dead-lettered): what tests wait on."""
    _active: int = field(init=False, default=0)
    _idle: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _consumers: list[Consumer] = field(init=False, default_factory=list)
    _commits: Committer = field(init=False)
    _failures: HandlerFailures = field(init=False)

    def __post_init__(self) -> None:
        self.relay = OutboxRelay(self.db, self.broker, faults=self.faults)
        self._commits = (
            GroupCommit(self.db, also=self.relay.flush_into, alone=lambda: self._active == 1)
            if self.grouped
            else OneByOne(self.db, also=self.relay.flush_into)
        )
        self._failures = HandlerFailures(self.db, self.relay, self.unsafe)
        self._idle.set()

    async def start(self) -> None:
        await self.relay.sweep(older_than_s=0.0)  # whatever a previous crash left staged
        self._tasks.append(asyncio.create_task(self.relay.run(self.stopping)))
        self._tasks.append(asyncio.create_task(self.pruning.run(self.db, self.stopping)))
        for loop in self.background:
            self._tasks.append(asyncio.create_task(loop(self.stopping)))
        try:
            for sub in self.subscriptions:
                self._consumers.append(await self.broker.consume(sub.queue, self._handler_for(sub)))
        except BaseException:  # a queue that cannot be declared (another durability's): stop the loops quietly
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            raise

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
            if not await self.faults.outgoing(out):
                continue  # a fault lost it on the way
            await self.broker.publish(out)
            await self.faults.sent(out)

    async def _publish_quietly(self, messages: Sequence[Outgoing]) -> None:
        try:
            await self.publish_now(messages)
        except PublishFailed as exc:
            log.warning("publish failed after commit", error=str(exc))

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
        """The core path: accept the message, run inbox + effect + outbox in one local transaction, then
        settle the delivery by the route's ack policy and publish what it staged."""
        started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        if "ack-first" in self.unsafe:
            await delivery.ack_now()
        accepted = await self._accept(sub, delivery)
        if accepted is None:
            return
        message, route = accepted
        await self.faults.at("before-commit", message)
        tx_meta = dict(reply_to=delivery.reply_to, sender=delivery.sender, headers=delivery.headers)
        try:
            done: _Done = await self._commits.run(self._work(consumer, message, route, tx_meta))
        except Exception as exc:  # a bug or an infrastructure fault, not a business outcome
            await self._failures.settle(consumer, sub.queue, message, route, exc, delivery, tx_meta)
            return
        if done.verdict == "reused":
            await delivery.dead_letter("MessageIdReused",
                                       f"message id {message.message_id} reused with a different body")  # fmt: skip
            return
        await self.faults.at("after-commit", message)
        if self.faults.acks_last(message):  # a before-ack crash: published and confirmed, then killed unacked
            await self._publish(route, done)
            await self.faults.at("before-ack", message)
        await route.acks.committed(delivery, message)
        await self._publish(route, done)
        log.info("handled", verdict=done.verdict, duplicate=done.verdict == "duplicate",
                 redelivered=delivery.redelivered, sent=[r.message.type for r in done.sent],
                 ms=round((time.perf_counter() - started) * 1000, 2))  # fmt: skip

    async def _accept(self, sub: Subscription, delivery: Delivery) -> tuple[Message, Route] | None:
        """The message and its route, or None once the delivery is dead-lettered saying why."""
        try:
            message = decode_delivery(delivery.type, delivery.body, delivery.message_id)
        except UndecodableMessage as exc:
            await delivery.dead_letter(exc.error, str(exc))  # type: ignore[arg-type]
            return None
        structlog.contextvars.bind_contextvars(
            correlation_id=message.correlation_id, message_type=type(message).__name__, message_id=message.message_id
        )
        if (wrong := self.publishers.refusal(message, delivery.user_id)) is not None:
            await delivery.dead_letter("WrongPublisher", wrong)
            return None
        route = sub.routes.get(type(message))
        if route is None:
            await delivery.dead_letter("NoHandler", f"no handler for {type(message).__name__} on {delivery.queue}")
            return None
        return message, route

    async def _publish(self, route: Route, done: _Done) -> None:
        if "no-outbox" in self.unsafe or not route.outbox or done.verdict == "duplicate":
            # A replayed answer goes out again even if the first copy is still in flight: the asker
            # may be waiting for exactly this one, and its inbox drops whichever arrives second.
            await self._publish_quietly([row.message for row in done.sent])
        else:
            await self.relay.send(done.sent)

    def _work(
        self, consumer: str, message: Message, route: Route, tx_meta: dict[str, Any]
    ) -> Callable[[sqlite3.Connection], _Done]:
        """The local transaction's part for one delivery: barrier, inbox row, business key, effect and
        outgoing messages commit together (the committer may group them with others, see ``group_commit.py``)."""
        use_inbox = route.inbox and "no-inbox" not in self.unsafe
        use_outbox = route.outbox and "no-outbox" not in self.unsafe

        def work(conn: sqlite3.Connection) -> _Done:
            tx = Tx(conn, **tx_meta)
            refusal = self._refusal(consumer, message, route, tx)
            if refusal is not None:
                return self._staged(tx, consumer, message, "refused", refusal, use_outbox)
            if use_inbox:
                seen = Database.remember(conn, consumer, message.message_id, digest(message))
                if seen == "reused":
                    return _Done("reused")
                if seen == "duplicate":
                    # An idempotent receiver answers a repeated command with the answer it gave the first time.
                    return _Done("duplicate", self.db.staged_for(message.message_id) if tx.reply_to else [])
            self.faults.check(message)
            verdict, outgoing = self._effect(consumer, message, route, tx)
            return self._staged(tx, consumer, message, verdict, outgoing, use_outbox)

        return work

    @staticmethod
    def _staged(
        tx: Tx, consumer: str, message: Message, verdict: Verdict, outgoing: list[Outgoing], use_outbox: bool
    ) -> _Done:
        """Count what the delivery refused or ignored, and stage what it sends (under its message id, so
        the inbox can replay it; a refusal is never replayed, the barrier answers again instead)."""
        for kind, reason in tx.notes:
            Database.note_refusal(tx.conn, consumer, message.message_id, kind, message.correlation_id, reason)
        if not use_outbox:
            return _Done(verdict, [OutboxRow(0, out) for out in outgoing])
        seqs = Database.stage(tx.conn, None if verdict == "refused" else message.message_id, outgoing)
        return _Done(verdict, [OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)])

    def _refusal(self, consumer: str, message: Message, route: Route, tx: Tx) -> list[Outgoing] | None:
        """The barrier: a forward step whose compensation this service already recorded for the order is
        refused with the step's failure outcome (None: the step may go on)."""
        step = route.step
        if step is None or step.undone_by is None or step.fail is None or "no-barrier" in self.unsafe:
            return None
        undo = step.undo_key(message)
        if undo is None or not Database.step_done(tx.conn, consumer, message.correlation_id, undo):
            return None
        reason = f"{step.key(message)} refused: {undo} was already recorded for order {message.correlation_id}"
        tx.refused(reason)
        return step.fail(message, reason, tx)

    def _effect(self, consumer: str, message: Message, route: Route, tx: Tx) -> tuple[Verdict, list[Outgoing]]:
        """Run the handler, unless the business key says this step was already done for the order."""
        step = route.step
        if step is None:
            return "handled", route.handle(message, tx)
        key = step.key(message)
        if key is None:
            return "handled", route.handle(message, tx)
        first = Database.claim_step(tx.conn, consumer, message.correlation_id, key, message.message_id)
        if first is None or "no-business-key" in self.unsafe:
            return "handled", route.handle(message, tx)
        tx.ignored(f"{key} {ALREADY_DONE} {message.correlation_id} by message {first}")
        if not tx.reply_to:
            return "answered-again", []  # an event: nobody awaits an answer, and the first one went out
        return "answered-again", [answered_again(row.message, message, tx.reply_to) for row in self.db.staged_for(first)]
