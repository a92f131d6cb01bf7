"""The scenario catalogue: the core story's scenarios and, from the fault lab, the rest, by name."""

from __future__ import annotations

from scenarios.checks import AllEnd
from scenarios.fault_catalogue import FAULT_SCENARIOS
from scenarios.scenario import DECLINED_CARD, UNSERVED, Scenario, mixed_orders, mixed_stock, same

CORE_SCENARIOS: tuple[Scenario, ...] = (
        Scenario(
            "happy-path",
            "Every step succeeds: the baseline count of messages each mode needs for one order.",
            {"KEYBOARD": 1_000_000},
            same(),
            expect=(AllEnd("completed"),),
        ),
        Scenario(
            "out-of-stock",
            "The card is charged, then the keyboard is out of stock: the charge must be refunded.",
            {"KEYBOARD": 0},
            same(),
            expect=(AllEnd("compensated"),),
        ),
        Scenario(
            "payment-declined",
            "The first step fails: nothing succeeded, so there is nothing to undo.",
            {"KEYBOARD": 1_000_000},
            same(card_number=DECLINED_CARD),
            expect=(AllEnd("compensated"),),
        ),
        Scenario(
            "shipping-failure",
            "The last step fails: stock is released and the card refunded, in reverse order.",
            {"KEYBOARD": 1_000_000},
            same(destination=UNSERVED),
            expect=(AllEnd("compensated"),),
        ),
        Scenario(
            "mixed",
            "A seeded random mix of every outcome, with orders racing for scarce stock of several SKUs.",
            mixed_stock,
            mixed_orders,
            default_orders=50,
            deadline_s=120.0,
        ),
)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (*CORE_SCENARIOS, *FAULT_SCENARIOS)}
"""Every scenario by name: the core story first, then the fault lab (``scenarios/fault_catalogue.py``)."""
