"""The ledger query (both modes): how the oracle learns a participant's effects, in any language.

``QueryLedger`` asks, ``LedgerReport`` answers; neither is part of a saga, so neither is in
``contracts.MESSAGE_TYPES`` (traces, counts and reports leave them out)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.contracts import (
    MAX_AMOUNT_CENTS,
    MAX_LINES,
    MAX_QUANTITY,
    Amount,
    Command,
    Event,
    Identifier,
    Message,
    Sku,
)

MAX_LEDGER_ORDERS = 200
"""The most orders one ``QueryLedger`` asks about (a report stays well under ``MAX_MESSAGE_BYTES``); the runner
asks again for the next ones."""
MAX_LEDGER_ROWS = 1000


class LedgerMoney(BaseModel):
    """One charge or one refund of an order (``payment_id`` names a charge; a refund may leave it out)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: Identifier
    amount_cents: Amount
    payment_id: Identifier | None = None


class LedgerStock(BaseModel):
    """One SKU's stock: what the run seeded (``initial``) and what is free now (``available``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: Sku
    initial: Annotated[int, Field(ge=0, le=MAX_AMOUNT_CENTS)]
    available: Annotated[int, Field(ge=-MAX_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS)]


class LedgerReservation(BaseModel):
    """An order's reservation of one line: ``reserved`` holds stock (shipped stock stays reserved), ``released`` gave it
    back, ``cancelled`` is the tombstone of a release that came before any reservation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: Identifier
    line: Annotated[int, Field(ge=-1, lt=MAX_LINES)] = 0
    """The order's line (from 0); -1 is the tombstone of a whole-order release. Older participants leave it out."""
    sku: Sku | Literal[""]
    """Empty on a tombstone: nothing was reserved."""
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
    status: Literal["reserved", "released", "cancelled"]


class LedgerShipment(BaseModel):
    """An order's shipment: ``scheduled``, or ``cancelled`` (also the tombstone of a cancel that came first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: Identifier
    status: Literal["scheduled", "cancelled"]


class QueryLedger(Command):
    """Asks a participant for its effects (the oracle's read of any participant, in any language).

    Sent to ``<ns>.commands`` with routing key ``<participant>.QueryLedger`` and ``reply_to``; answered with
    one ``LedgerReport`` on ``<ns>.replies`` under that key. ``correlation_id`` is the query's own id. It changes
    nothing, so it needs no inbox: answer every copy.
    """

    order_ids: list[Identifier] | None = Field(
        default=None, max_length=MAX_LEDGER_ORDERS,
        description="report these orders' effects only; null: report none (a ping), only stock levels",
    )  # fmt: skip


class LedgerReport(Event):
    """A participant's effects on the orders a ``QueryLedger`` named: payment fills ``charges`` and ``refunds``,
    inventory ``stock`` (every SKU) and ``reservations``, shipping ``shipments``; the rest stay empty."""

    participant: Identifier
    charges: list[LedgerMoney] = Field(default_factory=list, max_length=MAX_LEDGER_ROWS)
    refunds: list[LedgerMoney] = Field(default_factory=list, max_length=MAX_LEDGER_ROWS)
    stock: list[LedgerStock] = Field(default_factory=list, max_length=MAX_LEDGER_ROWS)
    reservations: list[LedgerReservation] = Field(default_factory=list, max_length=MAX_LEDGER_ROWS)
    shipments: list[LedgerShipment] = Field(default_factory=list, max_length=MAX_LEDGER_ROWS)


LEDGER_TYPES: dict[str, type[Message]] = {"QueryLedger": QueryLedger, "LedgerReport": LedgerReport}
"""The ledger query's two messages: part of the protocol (schemas), but not of any saga, so not in
``MESSAGE_TYPES`` (traces, counts and reports leave them out)."""
