"""The lab's edge: each order a scenario means to place is checked against the contracts first; one that is
out of bounds or malformed is rejected here with its reason, never placed, and counted in the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.domain.contracts import Order
from shared.transport.wire import invalid

OrderRequest = Order | Mapping[str, Any]
"""What a scenario asks to place: an ``Order``, or its fields as a user wrote them (not yet validated)."""


@dataclass(frozen=True)
class Rejected:
    """An order refused at the edge: which one (shortened if its id is itself the problem) and why."""

    order_id: str
    reason: str


@dataclass(frozen=True)
class Admission:
    orders: list[Order]
    """The orders to place, each within every bound."""
    rejected: list[Rejected]


def admit(requests: Sequence[OrderRequest]) -> Admission:
    """Validate every request; an ``Order`` is validated again (``model_construct`` skips validation)."""
    orders: list[Order] = []
    rejected: list[Rejected] = []
    for i, request in enumerate(requests):
        fields = request.model_dump() if isinstance(request, Order) else dict(request)
        try:
            orders.append(Order.model_validate(fields))
        except ValidationError as exc:
            rejected.append(Rejected(_label(fields.get("order_id"), i), str(invalid("order", exc))))
    return Admission(orders, rejected)


def _label(order_id: object, index: int, limit: int = 64) -> str:
    """The order id as a result can show it: as given when it is short and printable, else a shortened repr."""
    if not isinstance(order_id, str) or not order_id:
        return f"order #{index + 1}"
    if len(order_id) <= limit and order_id.isprintable():
        return order_id
    return f"{order_id[:limit]!r}… ({len(order_id)} characters)"
