"""Settling honestly: a run whose deadline passes while a saga still moves never says it settled."""

from __future__ import annotations

from pathlib import Path

from scenarios.settle import wait_settled
from shared.domain.contracts import Order
from shared.stores.orders import ORDERS_SCHEMA, record_placed, settle
from shared.stores.sqlite import Database


def _coordinator(path: Path, statuses: dict[str, str]) -> Path:
    """An orders table with each order placed, then given its status (``pending`` stays placed)."""
    db = Database(path, ORDERS_SCHEMA)
    with db.transaction() as conn:
        for order_id, status in statuses.items():
            record_placed(conn, Order(order_id=order_id, customer_id="c", sku="K", quantity=1, amount_cents=1,
                                      card_number="4242424242424242", destination="Oslo"))  # fmt: skip
            if status != "pending":
                settle(conn, order_id, status)  # type: ignore[arg-type]
    db.close()
    return path


async def test_every_saga_ended_is_settled(tmp_path: Path) -> None:
    path = _coordinator(tmp_path / "orders.db", {"a": "completed", "b": "compensated"})
    assert await wait_settled(path, ["a", "b"], deadline_s=5) is True


async def test_a_saga_still_pending_at_the_deadline_is_not_settled(tmp_path: Path) -> None:
    path = _coordinator(tmp_path / "orders.db", {"a": "completed", "b": "pending"})
    assert await wait_settled(path, ["a", "b"], deadline_s=0.2) is False


async def test_a_parked_saga_still_in_its_grace_at_the_deadline_is_not_settled(tmp_path: Path) -> None:
    """A slow service's saga parked by the watcher may still finish on its own: while the scenario grants it
    time and the deadline cuts that short, the run has not settled."""
    path = _coordinator(tmp_path / "orders.db", {"a": "needs-attention"})
    assert await wait_settled(path, ["a"], deadline_s=0.2, attention_grace_s=30) is False
    assert await wait_settled(path, ["a"], deadline_s=5, attention_grace_s=0) is True


async def test_an_order_the_coordinator_never_recorded_is_not_settled(tmp_path: Path) -> None:
    path = _coordinator(tmp_path / "orders.db", {"a": "completed"})
    assert await wait_settled(path, ["a", "lost"], deadline_s=0.2) is False
