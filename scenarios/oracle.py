"""The consistency oracle: after a run settles, read every service's own database and judge each order.

Rules (see DESIGN.md): money (at most one charge, refunds never exceed charges, net charged = total
if completed else 0), stock (initial = available + reserved + shipped for every SKU, nothing
negative, no reservation left behind by a compensated order), shipping (at most one shipment, only
for a completed order), termination (every order completed or compensated, otherwise stuck), and no
effect for an order nobody placed (when the databases hold this run's data alone).

What each participant did comes from its ledger (``scenarios/ledger.py``): the built-in stores' read side, where
a service database that is missing, or lacks a table or column the rules need, raises StoreSchemaError instead of
passing for an empty ledger; or the protocol's ledger query, where a participant that does not answer is a
``ledger.unanswered`` violation, never an empty ledger.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.ledger import RULES_OF, Effects, Held, StoreLedger
from shared.domain.contracts import Order, money
from shared.stores.orders import FINAL_STATUSES, OrderRecord, OrdersView
from shared.stores.read import read_only


@dataclass(frozen=True)
class Violation:
    order_id: str
    rule: str
    detail: str


@dataclass
class Verdict:
    outcomes: dict[str, str] = field(default_factory=dict)  # order_id -> completed|compensated|inconsistent|stuck
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)


def read_ledger(data_dir: Path) -> Effects:
    """Every charge, refund, reservation, stock level and shipment in the run's three domain databases."""
    effects = Effects()
    store = StoreLedger(data_dir)
    for service in RULES_OF:
        store.read_now(service, effects)
    return effects


def coordinator_records(coordinator_db: Path) -> dict[str, OrderRecord]:
    with read_only(coordinator_db) as db:
        return OrdersView(db).records()


def judge(data_dir: Path, coordinator_db: Path, orders: list[Order], skus: set[str] | None = None,
          effects: Effects | None = None) -> Verdict:  # fmt: skip
    """Classify every order the scenario placed and list every broken rule (stock rules for ``skus`` only,
    when the databases also hold other runs' stock). ``effects``: what the participants' ledgers say
    (``scenarios/ledger.py``); by default, read from the built-in services' databases in ``data_dir``."""
    ledger = effects if effects is not None else read_ledger(data_dir)
    records = coordinator_records(coordinator_db)
    statuses = {k: r.status for k, r in records.items()}
    verdict = Verdict()
    for why in ledger.unanswered.values():  # its rules cannot be judged: never an "ok" by default
        verdict.violations.append(Violation("", "ledger.unanswered", why))
    for order in orders:
        status = statuses.get(order.order_id, "absent")
        problems = _order_violations(order, status, ledger)
        verdict.violations += problems
        if status not in FINAL_STATUSES:
            verdict.outcomes[order.order_id] = "stuck"
            verdict.violations.append(
                Violation(order.order_id, "termination", f"still {status} when the run ended")
            )
        elif problems or status == "needs-attention":
            verdict.outcomes[order.order_id] = "inconsistent"
            if status == "needs-attention":  # whatever else is wrong, say why the saga was parked
                reason = records[order.order_id].detail or "a compensation failed"
                verdict.violations.append(Violation(order.order_id, "termination.needs-attention", f"parked: {reason}"))
        else:
            verdict.outcomes[order.order_id] = status
    if ledger.judged("inventory"):
        verdict.violations += _stock_violations(ledger, skus)
    if skus is None and ledger.complete:  # the ledgers are this run's own: anything else in them was never ordered
        verdict.violations += _stray_effects(ledger, {o.order_id for o in orders})
    return verdict


def _stray_effects(ledger: Effects, placed: set[str]) -> list[Violation]:
    """Money taken, stock held or a parcel booked for an order that was never placed (a forged message)."""
    effects = {
        "charged": set(ledger.charges),
        "stock reserved": {o for o, lines in ledger.reservations.items() if _reserved(lines)},
        "a shipment scheduled": {o for o, status in ledger.shipments.items() if status == "scheduled"},
    }
    return [Violation(order_id, "stray.unknown-order", f"{what} for an order nobody placed")
            for what, order_ids in effects.items() for order_id in sorted(order_ids - placed)]  # fmt: skip


def _order_violations(order: Order, status: str, ledger: Effects) -> list[Violation]:
    oid = order.order_id
    charges, refunds = ledger.charges.get(oid, []), ledger.refunds.get(oid, [])
    held = _reserved(ledger.reservations.get(oid, {}))
    shipped = ledger.shipments.get(oid) == "scheduled"
    net = sum(charges) - sum(refunds)
    found: list[tuple[str, str]] = []
    if len(charges) > 1:
        found.append(("money.single-charge", f"charged {len(charges)} times: {', '.join(money(c) for c in charges)}"))
    if sum(refunds) > sum(charges):
        found.append(("money.refund-exceeds-charge", f"refunded {money(sum(refunds))} of {money(sum(charges))} charged"))
    if status == "completed":
        if net != order.amount_cents:
            found.append(("money.net", f"completed but net charged {money(net)}, order total {money(order.amount_cents)}"))
        if missing := [i for i in range(len(order.lines)) if i not in held]:
            lines = "" if len(order.lines) == 1 else f" for line(s) {', '.join(str(i + 1) for i in missing)}"
            found.append(("stock.missing", f"completed without a stock reservation{lines}"))
        if not shipped:
            found.append(("shipping.missing", "completed without a shipment"))
    elif status in FINAL_STATUSES:
        if net != 0:
            found.append(("money.net", f"{status} but net charged {money(net)}"))
        if held:
            what = ", ".join(f"{h.quantity} x {h.sku}" + (f" (line {i + 1})" if len(order.lines) > 1 else "")
                             for i, h in sorted(held.items()))  # fmt: skip
            found.append(("stock.left-behind", f"{status} but {what} still reserved"))
        if shipped:
            found.append(("shipping.not-completed", f"{status} but a shipment is scheduled"))
    return [Violation(oid, rule, detail) for rule, detail in found if _judged(rule, ledger)]


def _reserved(lines: dict[int, Held]) -> dict[int, Held]:
    """The lines of an order's reservation that hold stock."""
    return {i: h for i, h in lines.items() if h.status == "reserved"}


def _judged(rule: str, ledger: Effects) -> bool:
    """A rule whose participant's ledger could not be read is not judged (``ledger.unanswered`` says why)."""
    return all(ledger.judged(service) for service, family in RULES_OF.items() if rule.startswith(family + "."))


def _stock_violations(ledger: Effects, skus: set[str] | None = None) -> list[Violation]:
    held: dict[str, int] = defaultdict(int)
    for lines in ledger.reservations.values():
        for line in _reserved(lines).values():
            held[line.sku] += line.quantity
    found = []
    for sku, (initial, available) in ledger.stock.items():
        if skus is not None and sku not in skus:
            continue
        if available < 0:
            found.append(Violation("", "stock.negative", f"{sku}: {available} available"))
        if initial != available + held[sku]:
            found.append(Violation(
                "", "stock.conservation", f"{sku}: initial {initial} != available {available} + reserved/shipped {held[sku]}"
            ))  # fmt: skip
    return found
