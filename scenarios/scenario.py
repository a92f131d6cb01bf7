"""What a scenario is: its set-up, its orders, its faults and what it expects (written in a scenario file,
``scenarios/files``, and loaded into this form); and the generators files name to make orders."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from scenarios.checks import OPEN, BrokenOnPurpose, Check, describe, with_defaults
from scenarios.edge import Admission, OrderRequest, admit
from shared.config import Durability, Mode
from shared.domain.contracts import Order
from shared.domain.services.payment import DECLINED_CARDS
from shared.domain.services.shipping import UNSERVED_DESTINATIONS

GOOD_CARD = "4242424242424242"
DECLINED_CARD = next(iter(DECLINED_CARDS))
UNSERVED = sorted(UNSERVED_DESTINATIONS)[0]
CITIES = ("Berlin", "Lisbon", "Oslo", "Kyoto", "Nairobi", "Lima")
PLENTY = {"KEYBOARD": 1_000_000}
"""Stock no order runs out of."""


class Need(Enum):
    """What a fault injector needs beyond the run's own broker connection and trace (the value completes
    "the runner must ...")."""

    PROCESSES = "own the service processes"
    """It kills and restarts services, so the runner must own their processes (never a running stack)."""
    BROKER_CONTROL = "control the broker"
    """It stops the broker or closes its connections (``rabbitmqctl``, see scenarios/broker_control.py)."""


RunT = TypeVar("RunT", contravariant=True)


class Injector(Protocol[RunT]):
    """A fault injected from outside the services, which declares what it needs so the runner can check
    before anything starts. ``RunT`` is the run it acts on (``scenarios.run_state.Run``, which holds the
    scenario: named by a type variable here to keep the import one way)."""

    @property
    def needs(self) -> frozenset[Need]: ...

    async def inject(self, run: RunT) -> None: ...


def needs_of(injectors: Iterable[Injector[Any]]) -> frozenset[Need]:
    """Everything some injectors need together."""
    return frozenset(need for injector in injectors for need in injector.needs)


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
    expect: Sequence[Check] | Mapping[Mode, Sequence[Check]] = ()
    """Checks for both modes, or per mode (scenarios/checks.py); the default checks stand unless replaced."""
    deadline_s: float = 60.0
    faults: dict[str, ServiceFaults] = field(default_factory=dict)
    """Per mode: the fault hooks each service starts with."""
    injectors: Mapping[Mode, tuple[Injector[Any], ...]] = field(default_factory=dict)
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
    durability: Durability | None = None
    """``strict`` or ``light`` for this scenario's runs (``--durability`` overrides it); None: the run's default."""
    golden_file: Path | None = None
    """Where this scenario's golden transcript lives, when not in the catalogue's own folder
    (``scenarios/golden/<name>.json``): see ``scenarios/golden.py``."""

    def checks_for(self, mode: Mode) -> tuple[Check, ...]:
        """Every check a run in this mode must pass: the scenario's, and the defaults it does not replace."""
        return with_defaults(self.expect[mode] if isinstance(self.expect, Mapping) else self.expect)

    def expects(self) -> str:
        """What the scenario expects beyond the defaults, in a line (per mode when the modes differ)."""
        if not isinstance(self.expect, Mapping):
            return describe(self.expect)
        return "; ".join(f"{mode}: {describe(checks)}" for mode, checks in self.expect.items())

    def broken_on_purpose(self, mode: Mode) -> tuple[str, ...]:
        """Order-id suffixes whose compensation this scenario breaks for good in this mode."""
        return tuple(s for c in self.checks_for(mode) if isinstance(c, BrokenOnPurpose) for s in c.suffixes)

    def needs(self, mode: Mode) -> frozenset[Need]:
        """What this scenario's injectors need in this mode."""
        return needs_of(self.injectors.get(mode, ()))

    def orders(self, n: int | None, seed: int, run_token: str) -> Admission:
        """The orders to place, and those refused at the edge (out of bounds or malformed) with their reason."""
        return admit(self.make_orders(n or self.default_orders, random.Random(seed), run_token))

    def stock_for(self, n: int | None) -> dict[str, int]:
        return self.stock(n or self.default_orders) if callable(self.stock) else self.stock

    def predict(self, order: Order, stock: dict[str, int], mode: Mode) -> str | None:
        """The outcome an order must have whatever else happens in the run (None: it depends on the race).

        The checks speak first: one that says the order cannot be foreseen (a compensation broken on purpose,
        an expected violation, a saga allowed to stay stuck) wins, then one that names the outcome; else the
        business rules decide where they can."""
        said = sorted({s for c in self.checks_for(mode) if (s := c.foresees(order.order_id)) is not None})
        if OPEN in said:
            return None
        if said:
            return said[0]
        if order.card_number in DECLINED_CARDS or order.destination in UNSERVED_DESTINATIONS:
            return "compensated"
        if any(stock.get(sku, 0) < wanted for sku, wanted in order.quantities().items()):
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
    if "lines" in overrides:  # an order of several lines: they replace the one-line default
        del fields["sku"], fields["quantity"]
        lines = cast(list[dict[str, Any]], overrides["lines"])  # a scenario file's lines are checked when it is read
        overrides = overrides | {"lines": [dict(line) for line in lines]}
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


def mixed_orders(n: int, rng: random.Random, run_token: str) -> list[dict[str, object]]:
    """A seeded mix: most orders fine, some declined, some unshippable, all competing for scarce stock."""
    orders: list[dict[str, object]] = []
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
