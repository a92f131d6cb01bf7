"""Where the oracle learns each participant's effects: the ``Ledger`` interface and its two sources.

- ``StoreLedger`` reads a built-in service's SQLite file through the stores' read side (fast; every order in
  the file, so effects for orders nobody placed show up too).
- ``ProtocolLedger`` asks the participant itself with the protocol's ``QueryLedger`` (docs/participant-
  protocol.md, "The ledger query"), which is how a participant the user brought is judged: any language, any
  store. A participant that does not answer within the deadline is reported as unanswered, never read as an
  empty ledger.

``gather`` merges what each source says into one ``Effects``, the only thing ``oracle.judge`` reads.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from pydantic import ValidationError

from shared.domain.ledger import MAX_LEDGER_ORDERS, LedgerReport, QueryLedger
from shared.stores.business import PaymentLedgerView, ShipmentsView, StockView
from shared.stores.read import read_only
from shared.transport.broker import Broker, Consumer, PublishFailed
from shared.transport.delivery import Delivery
from shared.transport.topology import Binding, QueueSpec
from shared.transport.wire import Outgoing

LedgerChoice = Literal["store", "query"]
"""Where the oracle reads the built-in services: their files (``store``) or the ledger query (``query``).
A participant the user replaced is always queried."""

RULES_OF = {"payment": "money", "inventory": "stock", "shipping": "shipping"}
"""The oracle's rule family each participant's ledger decides."""


class Held(NamedTuple):
    """One line of an order's reservation: ``reserved`` holds stock (shipped stock stays reserved)."""

    sku: str
    quantity: int
    status: str


@dataclass
class Effects:
    """Every charge, refund, reservation, stock level and shipment the participants reported."""

    charges: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    refunds: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    reservations: dict[str, dict[int, Held]] = field(default_factory=lambda: defaultdict(dict))
    """order id -> line -> what that line holds."""
    stock: dict[str, tuple[int, int]] = field(default_factory=dict)  # sku -> (initial, available)
    shipments: dict[str, str] = field(default_factory=dict)  # order_id -> status
    unanswered: dict[str, str] = field(default_factory=dict)
    """Participants whose ledger could not be read, and why: their rules cannot be judged."""
    complete: bool = True
    """Every effect in every ledger, not only the run's orders' (a queried ledger reports the orders asked about)."""

    def add(self, report: LedgerReport) -> None:
        for charge in report.charges:
            self.charges[charge.order_id].append(charge.amount_cents)
        for refund in report.refunds:
            self.refunds[refund.order_id].append(refund.amount_cents)
        for s in report.stock:
            self.stock[s.sku] = (s.initial, s.available)
        for r in report.reservations:
            self.reservations[r.order_id][r.line] = Held(r.sku, r.quantity, r.status)
        for shipment in report.shipments:
            self.shipments[shipment.order_id] = shipment.status

    def judged(self, service: str) -> bool:
        return service not in self.unanswered


class LedgerUnanswered(Exception):
    """A participant did not answer the ledger query (in time, or at all, or with a valid report)."""


class Ledger(Protocol):
    """One source of participants' effects."""

    complete: bool
    """True when it reports every effect it holds, not only the orders asked about."""

    async def read(self, service: str, order_ids: Sequence[str], into: Effects) -> None:
        """Add ``service``'s effects on ``order_ids`` to ``into``; raise ``LedgerUnanswered`` if it cannot."""
        ...


@dataclass
class StoreLedger:
    """A built-in service's own database in the run folder, read-only."""

    data_dir: Path
    complete: bool = True

    async def read(self, service: str, order_ids: Sequence[str], into: Effects) -> None:
        self.read_now(service, into)

    def read_now(self, service: str, into: Effects) -> None:
        """Every effect in the service's file (it holds this run's alone)."""
        with read_only(self.data_dir / f"{service}.db", service) as db:
            if service == "payment":
                view = PaymentLedgerView(db)
                for charge in view.charges():
                    into.charges[charge.order_id].append(charge.amount_cents)
                for refund in view.refunds():
                    into.refunds[refund.order_id].append(refund.amount_cents)
            elif service == "inventory":
                stock = StockView(db)
                for r in stock.reservations():
                    into.reservations[r.order_id][r.line] = Held(r.sku, r.quantity, r.status)
                for level in stock.levels():
                    into.stock[level.sku] = (level.initial, level.available)
            elif service == "shipping":
                for shipment in ShipmentsView(db).shipments():
                    into.shipments[shipment.order_id] = shipment.status


class ProtocolLedger:
    """Asks participants over the broker: ``QueryLedger`` on ``<ns>.commands``, ``LedgerReport`` back on
    ``<ns>.replies`` under a key of this reader's own, into a private queue that goes with the connection."""

    complete = False

    def __init__(self, broker: Broker, timeout_s: float = 10.0) -> None:
        self.broker = broker
        self.timeout_s = timeout_s
        self._key = f"ledger.{secrets.token_hex(4)}"
        self._pending: dict[str, asyncio.Future[LedgerReport]] = {}
        self._consumer: Consumer | None = None

    async def read(self, service: str, order_ids: Sequence[str], into: Effects) -> None:
        for start in range(0, max(len(order_ids), 1), MAX_LEDGER_ORDERS):
            into.add(await self.ask(service, list(order_ids[start:start + MAX_LEDGER_ORDERS])))

    async def ask(self, service: str, order_ids: list[str] | None, timeout_s: float | None = None) -> LedgerReport:
        """One query and its report (``order_ids`` None: a ping, answered with no order's effects)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        await self._listen()
        query = QueryLedger(correlation_id=f"ledger-{secrets.token_hex(6)}", order_ids=order_ids)
        answer = self._pending[query.message_id] = asyncio.get_running_loop().create_future()
        try:
            try:
                await self.broker.publish(Outgoing.command(query, service, reply_to=self._key))
            except PublishFailed as exc:
                raise LedgerUnanswered(f"{service} did not answer the ledger query: nothing takes "
                                       f"{service}.QueryLedger on {self.broker.topology.exchange('commands')} "
                                       f"({exc})") from None  # fmt: skip
            try:
                report = await asyncio.wait_for(answer, timeout_s)
            except TimeoutError:
                raise LedgerUnanswered(f"{service} did not answer the ledger query within {timeout_s:g}s") from None
        finally:
            self._pending.pop(query.message_id, None)
        if report.participant != service:
            raise LedgerUnanswered(f"{service} did not answer the ledger query: {report.participant} answered")
        return report

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.cancel()
            self._consumer = None

    async def _listen(self) -> None:
        if self._consumer is None:
            spec = QueueSpec("runner", (Binding("replies", self._key),), prefetch=16, suffix=self._key, durable=False)
            self._consumer = await self.broker.consume(spec, self._on_report)

    async def _on_report(self, delivery: Delivery) -> None:
        await delivery.ack()
        try:
            report = LedgerReport.model_validate_json(delivery.body)
        except ValidationError as exc:
            # A report we cannot read still answers its query: say what is wrong instead of waiting it out.
            waiting = self._pending.get(_causation_id(delivery.body) or "")
            if waiting is not None and not waiting.done():
                first = exc.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                waiting.set_exception(LedgerUnanswered(
                    f"{delivery.sender or 'a participant'} answered the ledger query with an invalid LedgerReport "
                    f"({where}: {first['msg']})"))  # fmt: skip
            return
        waiting = self._pending.get(report.causation_id or "")
        if waiting is not None and not waiting.done():
            waiting.set_result(report)


def _causation_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("causation_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def gather(sources: Mapping[str, Ledger], order_ids: Sequence[str], into: Effects | None = None) -> Effects:
    """Every participant's effects, each read from its own source; one that cannot be read is noted as such."""
    effects = into if into is not None else Effects()
    for service, source in sources.items():
        try:
            await source.read(service, order_ids, effects)
        except LedgerUnanswered as exc:
            effects.unanswered[service] = str(exc)
        effects.complete &= source.complete
    return effects
