"""Express acks: an order's PlaceOrder is acked only once its execution has finished.

An Express orchestrator keeps running executions in memory. Holding the order's delivery unacked until its
execution has written its log means a crash gives the order back to the broker, and the execution runs again
from the start (the participants' inboxes keep the effects single). The host calls ``committed`` after each
delivery's local transaction; the orchestrator calls ``finished`` inside the transaction that ends an execution
and ``release`` after a transaction of its own (a timer) commits. No task is spawned: every ack happens in the
flow of the delivery, or timer, whose commit made it safe.

What is held stays bounded: a parked delivery belongs to a running execution (and the start queue's prefetch
caps those), the finished ids are drained by the next release, and past ``limit`` parked orders an order is
acked at once with a warning rather than held without end.

With replicas (``--instances K``), another replica may finish the execution whose order this one holds: the
orchestrator's timer loop calls ``recheck``, which acks the held orders whose executions no longer run.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from shared.domain.contracts import Message, PlaceOrder
from shared.transport.delivery import Delivery

log = structlog.get_logger()

PARKED_LIMIT = 4096
"""More orders held than any start-queue prefetch allows: reaching it means executions vanished unfinished."""


class ExpressAcks:
    """The ack policy of an Express orchestrator's routes (``shared.runtime.host.Acks``)."""

    def __init__(self, running: Callable[[str], bool], limit: int = PARKED_LIMIT) -> None:
        self._running = running
        """Whether an execution is still running (after the commit, memory says so exactly)."""
        self._limit = limit
        self._parked: dict[str, list[Delivery]] = {}
        self._finished: set[str] = set()

    @property
    def parked(self) -> int:
        """Orders whose delivery is held until their execution finishes."""
        return len(self._parked)

    def finished(self, execution_id: str) -> None:
        """Called inside the transaction that ends an execution; its order is acked once that commits."""
        self._finished.add(execution_id)

    async def release(self) -> None:
        """Ack the orders whose executions finished in transactions that have committed by now."""
        done, self._finished = self._finished, set()
        for execution_id in done:
            if execution_id in self._parked and not self._running(execution_id):  # its ending did commit
                for delivery in self._parked.pop(execution_id):
                    await delivery.ack()

    async def recheck(self) -> None:
        """Ack the held orders whose executions ended elsewhere (another replica finished them)."""
        for execution_id in [key for key in self._parked if not self._running(key)]:
            for delivery in self._parked.pop(execution_id, []):
                await delivery.ack()

    async def committed(self, delivery: Delivery, message: Message) -> None:
        """After a delivery's commit: release what it finished, then hold an order whose execution still runs.

        An execution that finished before its order's delivery got here (at once, or by a reply that overtook
        it) is no longer running, so that order is acked now and nothing is left behind for it."""
        await self.release()
        key = message.correlation_id
        if not isinstance(message, PlaceOrder) or not self._running(key):
            await delivery.ack()
            return
        if key not in self._parked and len(self._parked) >= self._limit:
            log.warning("too many Express orders held; acking this one now (a crash will not rerun it)",
                        parked=len(self._parked), limit=self._limit)  # fmt: skip
            await delivery.ack()
            return
        self._parked.setdefault(key, []).append(delivery)
