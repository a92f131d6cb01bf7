"""Payment: charge the order's card, refund it when the saga is undone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.domain.contracts import (
    ChargePayment,
    PaymentCharged,
    PaymentDeclined,
    PaymentRefunded,
    RefundPayment,
)
from shared.domain.ids import new_id

DECLINED_CARDS = frozenset({"4000000000000002"})
"""Cards the (pretend) card network declines; the number is Stripe's test card for a generic decline."""

CARD_LIMIT_CENTS = 1_000_000


@dataclass(frozen=True)
class Charge:
    payment_id: str
    amount_cents: int


class PaymentLedger(Protocol):
    """Where Payment keeps its charges and refunds."""

    def charge_for(self, order_id: str) -> Charge | None: ...
    def record_charge(self, order_id: str, charge: Charge) -> None: ...
    def record_refund(self, order_id: str, amount_cents: int) -> None: ...
    def is_void(self, order_id: str) -> bool: ...
    def void(self, order_id: str) -> None: ...


def charge_payment(cmd: ChargePayment, ledger: PaymentLedger) -> PaymentCharged | PaymentDeclined:
    """Charge the card, unless it is declined or the order was already undone."""
    order = cmd.order
    if ledger.is_void(order.order_id):
        return cmd.caused(PaymentDeclined, order=order, reason="order was cancelled before it was charged")
    if order.card_number in DECLINED_CARDS:
        return cmd.caused(PaymentDeclined, order=order, reason="card declined by the issuer")
    if order.amount_cents > CARD_LIMIT_CENTS:
        return cmd.caused(PaymentDeclined, order=order, reason="amount over the card's limit")
    charge = Charge(payment_id=new_id(), amount_cents=order.amount_cents)
    ledger.record_charge(order.order_id, charge)
    return cmd.caused(PaymentCharged, order=order, payment_id=charge.payment_id, amount_cents=charge.amount_cents)


def refund_payment(cmd: RefundPayment, ledger: PaymentLedger) -> PaymentRefunded:
    """Refund the order's charge; with no charge yet, void the order so a late charge is declined.

    Like a card gateway called without an idempotency key, every call with a charge refunds it again:
    what makes the compensation idempotent is the inbox around it (see ``--unsafe no-inbox``).
    """
    charge = ledger.charge_for(cmd.order_id)
    if charge is None:
        ledger.void(cmd.order_id)
        return cmd.caused(PaymentRefunded, order_id=cmd.order_id, amount_cents=0)
    ledger.record_refund(cmd.order_id, charge.amount_cents)
    return cmd.caused(PaymentRefunded, order_id=cmd.order_id, amount_cents=charge.amount_cents)
