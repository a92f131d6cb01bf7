"""What a scenario is: its set-up, its orders, its faults and what it expects; and the helpers catalogues write
orders with."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.edge import Admission, OrderRequest, admit
from shared.domain.contracts import Order
from shared.domain.services.payment import DECLINED_CARDS
from shared.domain.services.shipping import UNSERVED_DESTINATIONS

GOOD_CARD = "4242424242424242"
DECLINED_CARD = next(iter(DECLINED_CARDS))
UNSERVED = sorted(UNSERVED_DESTINATIONS)[0]
CITIES = ("Berlin", "Lisbon", "Oslo", "Kyoto", "Nairobi", "Lima")


@dataclass(frozen=True)
class Expect:
    """What a run of the scenario must show for the scenario to pass."""

    outcome: str | None = None
    """Every order ends this way (``completed`` or ``compensated``); None when the mix is random."""
    consistent: bool = True
    """False for the unsafe demonstrations, which exist to produce a violation."""
    violations: frozenset[str] = frozenset()
    """Rules the scenario expects to see broken (when not ``consistent``)."""
    settles: bool = True
    """False when the point is that a saga gets stuck (a lost message with a defence switched off)."""
    dead_lettered: int | None = None
    """Exactly this many messages must reach the dead-letter queue."""
    alerted: bool = False
    """The choreography deadline watcher must have reported a saga that stopped moving."""
    completed: int | None = None
    """Exactly this many orders complete (the race for the last unit)."""
    rejected: int | None = None
    """Exactly this many orders are refused at the edge (out of bounds) and never placed."""
    dead_lettered_equals_poison: bool = False
    """The dead-letter queue holds exactly the poison and the forgeries the run injected (chaos)."""
    stuck_must_be_reported: bool = False
    """Choreography: a saga that stopped moving is tolerated only if the deadline watcher reported it."""
    broken_on_purpose: tuple[str, ...] = ()
    """Order-id suffixes whose compensation the scenario breaks for good: such an order may keep its stock
    reserved and must be parked naming the failed step (money still refunded); its dead letters are expected."""


ServiceFaults = dict[str, tuple[str, ...]]
"""Fault hooks per service (``sagalab serve --fault``), for the first start of each process only."""


@dataclass(frozen=True)
class Scenario:
    name: str
    teaches: str
    stock: dict[str, int] | Callable[[int], dict[str, int]]
    make_orders: Callable[[int, random.Random, str], Sequence[OrderRequest]]
    """The orders to place, as ``Order``s or their raw fields: ``orders()`` admits them at the edge."""
    default_orders: int = 1
    expect: Expect | dict[str, Expect] = Expect()
    """One expectation for both modes, or one per mode."""
    deadline_s: float = 60.0
    faults: dict[str, ServiceFaults] = field(default_factory=dict)
    """Per mode: the fault hooks each service starts with."""
    injectors: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Per mode: faults the runner injects from outside (see scenarios/injectors.py)."""
    unsafe: frozenset[str] = frozenset()
    """Defences this scenario switches off to show what they prevent."""
    service_options: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per service: options for ``sagalab serve`` (e.g. the order service's saga deadline)."""
    attention_grace_s: float = 0.0
    """How long to keep waiting for an order parked as needing attention to finish on its own."""
    place_interval_s: float = 0.0
    """Pause between orders, so faults strike while sagas are in flight."""
    own_users: bool = False
    """Each service logs in as its own broker user, so consumers can check who published a message."""

    def expect_for(self, mode: str) -> Expect:
        return self.expect if isinstance(self.expect, Expect) else self.expect[mode]

    def orders(self, n: int | None, seed: int, run_token: str) -> Admission:
        """The orders to place, and those refused at the edge (out of bounds or malformed) with their reason."""
        return admit(self.make_orders(n or self.default_orders, random.Random(seed), run_token))

    def stock_for(self, n: int | None) -> dict[str, int]:
        return self.stock(n or self.default_orders) if callable(self.stock) else self.stock

    def predict(self, order: Order, stock: dict[str, int], mode: str) -> str | None:
        """The outcome an order must have whatever else happens in the run (None: it depends on the race)."""
        expect = self.expect_for(mode)
        if order.order_id.endswith(expect.broken_on_purpose or ("\0",)):
            return None  # its compensation is broken on purpose: judged by the broken-compensation rules
        if expect.outcome:
            return expect.outcome
        if not expect.consistent or not expect.settles:
            return None
        if order.card_number in DECLINED_CARDS or order.destination in UNSERVED_DESTINATIONS:
            return "compensated"
        if stock.get(order.sku, 0) < order.quantity:
            return "compensated"
        return None


def order_fields(run_token: str, i: int, rng: random.Random, **overrides: object) -> dict[str, object]:
    """One order's fields, as a user would write them: the edge (``scenarios/edge.py``) validates them."""
    fields: dict[str, object] = dict(
        order_id=f"ord-{run_token}-{i:04d}",
        customer_id=f"cust-{rng.randrange(1000):03d}",
        sku="KEYBOARD",
        quantity=1,
        amount_cents=4999,
        card_number=GOOD_CARD,
        destination=rng.choice(CITIES),
    )
    fields.update(overrides)
    return fields


def same(**overrides: object) -> Callable[[int, random.Random, str], list[OrderRequest]]:
    """Orders that are all alike but for their ids and destinations."""
    def make(n: int, rng: random.Random, run_token: str) -> list[OrderRequest]:
        return [order_fields(run_token, i, rng, **overrides) for i in range(n)]

    return make


MIXED_SKUS = {"KEYBOARD": 0.3, "MOUSE": 0.25, "MONITOR": 0.15, "DOCK": 0.08, "WEBCAM": 0.0}
"""Stock of each SKU as a share of the number of orders: about half the orders find their SKU sold out."""


def mixed_stock(n: int) -> dict[str, int]:
    return {sku: int(share * n) for sku, share in MIXED_SKUS.items()}


def mixed_orders(n: int, rng: random.Random, run_token: str) -> list[OrderRequest]:
    """A seeded mix: most orders fine, some declined, some unshippable, all competing for scarce stock."""
    orders: list[OrderRequest] = []
    for i in range(n):
        roll = rng.random()
        overrides: dict[str, object] = {"sku": rng.choice(sorted(MIXED_SKUS)), "quantity": rng.choice((1, 1, 1, 2))}
        if roll < 0.1:
            overrides["card_number"] = DECLINED_CARD
        elif roll < 0.2:
            overrides["destination"] = UNSERVED
        overrides["amount_cents"] = rng.randrange(500, 50_000)
        orders.append(order_fields(run_token, i, rng, **overrides))
    return orders
