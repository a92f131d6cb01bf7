"""How a scenario file's orders and stock become the callables a ``Scenario`` holds: small frozen objects, so two
loads of one file compare equal and a scenario prints what it places."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from scenarios.edge import OrderRequest
from scenarios.files.model import OrderFields, Orders, Repeat
from scenarios.scenario import mixed_orders, order_fields

Fields = tuple[tuple[str, Any], ...]


def fields_of(written: OrderFields) -> Fields:
    """The fields a file sets, with every ``{ repeat, times }`` written out."""
    values = ((k, getattr(written, k)) for k in type(written).model_fields)
    return tuple((k, _written_out(v)) for k, v in values if v is not None)


def _written_out(value: Any) -> Any:
    if isinstance(value, Repeat):
        return value.repeat * value.times
    if isinstance(value, tuple):  # an order's lines
        return tuple(tuple((k, _written_out(v)) for k, v in line.model_dump().items()) for line in value)
    return value


@dataclass(frozen=True)
class MakeOrders:
    """A file's orders: ``n`` alike, mixed or from its list, then its extra ones (ids and indexes run on)."""

    mix: str = "alike"
    fields: Fields = ()
    listed: tuple[Fields, ...] = ()
    extra: tuple[Fields, ...] = ()

    @classmethod
    def of(cls, orders: Orders) -> MakeOrders:
        return cls(orders.mix, fields_of(orders.fields), tuple(fields_of(o) for o in orders.list or ()),
                   tuple(fields_of(o) for o in orders.extra))  # fmt: skip

    def __call__(self, n: int, rng: random.Random, run_token: str) -> list[OrderRequest]:
        made: list[OrderRequest]
        if self.mix == "mixed":
            made = list(mixed_orders(n, rng, run_token))
        elif self.listed:
            made = [order_fields(run_token, i, rng, **dict(self.listed[i % len(self.listed)])) for i in range(n)]
        else:
            made = [order_fields(run_token, i, rng, **dict(self.fields)) for i in range(n)]
        return made + [order_fields(run_token, n + i, rng, **dict(f)) for i, f in enumerate(self.extra)]


@dataclass(frozen=True)
class StockFor:
    """Stock for ``n`` orders: fixed units per SKU, plus a share of ``n`` for others (``int(share * n)``)."""

    units: tuple[tuple[str, int], ...] = ()
    shares: tuple[tuple[str, float], ...] = ()

    def __call__(self, n: int) -> dict[str, int]:
        return dict(self.units) | {sku: int(share * n) for sku, share in self.shares}
