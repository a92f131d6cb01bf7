"""What the host does when a handler raises (a bug or an infrastructure fault, never a business outcome).

A route that answers errors (orchestration's TaskFailed) answers and acks; otherwise the delivery is requeued, and
the queue's delivery limit bounds the retries; on the last attempt the step fails as its business failure would.
Classic queues (``light`` durability) count no deliveries, so the host also counts each message's failed attempts
itself and takes the larger count (a count kept in memory: a restart starts it again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from shared.domain.contracts import Message
from shared.runtime.relay import OutboxRelay
from shared.runtime.routes import Route, Tx
from shared.stores.sqlite import Database, OutboxRow
from shared.transport.delivery import Delivery
from shared.transport.topology import QueueSpec
from shared.transport.wire import digest

log = structlog.get_logger()


@dataclass(frozen=True)
class HandlerFailures:
    """Settles a delivery whose handler raised, for one service."""

    db: Database
    relay: OutboxRelay
    unsafe: frozenset[str]
    failed: dict[tuple[str, str], int] = field(default_factory=dict)
    """Failed attempts this process saw, by (queue, message id): classic queues keep no delivery count."""

    def attempts_before(self, delivery: Delivery) -> int:
        """How many times this message was delivered before: the quorum queue's count, or this process's own."""
        return max(delivery.delivery_count, self.failed.get((delivery.queue, delivery.message_id or ""), 0))

    async def settle(
        self,
        consumer: str,
        queue: QueueSpec,
        message: Message,
        route: Route,
        exc: Exception,
        delivery: Delivery,
        tx_meta: Mapping[str, Any],
    ) -> None:
        if route.on_error is not None:
            log.warning("handler failed; answering with the error", error=repr(exc))
            with self.db.transaction() as conn:
                outgoing = route.on_error(message, exc, Tx(conn, **tx_meta))
                seqs = Database.stage(conn, None, outgoing)
            await delivery.ack()
            await self.relay.send([OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)])
            log.info("handled", failed=type(exc).__name__, sent=[o.type for o in outgoing])
            return
        before = self.attempts_before(delivery)
        key = (delivery.queue, delivery.message_id or "")
        if not queue.durable or before < queue.delivery_limit:
            log.error("handler failed; requeueing (the queue's delivery limit bounds the retries)",
                      error=repr(exc), delivery_count=before, exc_info=exc)  # fmt: skip
            if queue.durable:
                self.failed[key] = before + 1
            await delivery.retry_later()
            return
        self.failed.pop(key, None)
        await self._give_up(consumer, message, route, exc, delivery, tx_meta, before)

    async def _give_up(
        self,
        consumer: str,
        message: Message,
        route: Route,
        exc: Exception,
        delivery: Delivery,
        tx_meta: Mapping[str, Any],
        before: int,
    ) -> None:
        """The handler failed on the last attempt the queue allows. A forward step fails as its business
        failure would (the failure event compensates what came before, as an orchestrator's Catch does),
        committed with the inbox row so a requeued copy changes nothing; the message is dead-lettered."""
        attempts = before + 1
        reason = f"handler failed {attempts} times, last with {type(exc).__name__}: {exc}"
        rows: list[OutboxRow] = []
        step = route.step
        if step is not None and step.fail is not None and "no-failure-events" not in self.unsafe:
            with self.db.transaction() as conn:
                tx = Tx(conn, **tx_meta)
                if Database.remember(conn, consumer, message.message_id, digest(message)) == "new":
                    Database.claim_step(conn, consumer, message.correlation_id, step.name, message.message_id)
                    outgoing = step.fail(message, reason, tx)
                    seqs = Database.stage(conn, message.message_id, outgoing)
                    rows = [OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)]
        await delivery.dead_letter("HandlerFailed", reason)
        await self.relay.send(rows)
        log.info("handled", failed=type(exc).__name__, gave_up=True, redelivered=delivery.redelivered,
                 delivery_count=before, sent=[r.message.type for r in rows])  # fmt: skip
