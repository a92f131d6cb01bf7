"""The built-in services' answer to the ledger query (docs/participant-protocol.md, "The ledger query").

Each domain service consumes a private queue (``<ns>.<service>.ledger``, exclusive: gone with the process) bound
to ``<ns>.commands`` with ``<service>.QueryLedger``, and answers each query with a ``LedgerReport`` read from its
own database, on ``<ns>.replies`` under the query's ``reply_to``. Reading changes nothing, so there is no inbox,
no outbox and no business key: every copy of a query is answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from shared.domain.contracts import routing_key
from shared.domain.ledger import LedgerReport, QueryLedger
from shared.stores.business import ledger_report
from shared.stores.read import read_only
from shared.transport.broker import Broker
from shared.transport.delivery import Delivery
from shared.transport.topology import Binding, QueueSpec
from shared.transport.wire import Outgoing

log = structlog.get_logger()


def ledger_queue(service: str) -> QueueSpec:
    """Where a built-in service takes ledger queries: private to the process, so it never outlives it."""
    return QueueSpec(service, (Binding("commands", routing_key(QueryLedger, service)),), prefetch=4,
                     suffix="ledger", durable=False)  # fmt: skip


def answering_ledger_queries(
    service: str, database: Path, broker: Broker
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """A background loop for the service host: answer ledger queries until the host stops."""

    async def on_query(delivery: Delivery) -> None:
        try:
            query = QueryLedger.model_validate_json(delivery.body)
        except ValidationError as exc:
            await delivery.dead_letter("UndecodableMessage", f"not a QueryLedger: {exc.error_count()} problem(s)")
            return
        if not delivery.reply_to:
            await delivery.dead_letter("UndecodableMessage", "a QueryLedger needs reply_to")
            return
        with read_only(database, service) as db:
            report = query.caused(LedgerReport, participant=service, **ledger_report(service, db, query.order_ids))
        await broker.publish(Outgoing.reply(report, delivery.reply_to))
        await delivery.ack()
        log.info("answered the ledger query", orders=len(query.order_ids or ()))

    async def answering(stopping: asyncio.Event) -> None:
        consumer = await broker.consume(ledger_queue(service), on_query)
        try:
            await stopping.wait()
        finally:
            await consumer.cancel()

    return answering
