"""Every core scenario, in both modes, through real service processes and the real broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from shared.config import Mode
from tests.integration.explain import not_met

pytestmark = pytest.mark.broker

# The exact messages one order needs, per scenario and mode: the headline of the comparison.
ONE_ORDER: dict[tuple[str, str], dict[str, int]] = {
    ("happy-path", "choreography"): dict.fromkeys(
        ["PlaceOrder", "OrderPlaced", "PaymentCharged", "StockReserved", "ShipmentScheduled"], 1),
    ("happy-path", "orchestration"): dict.fromkeys(
        ["PlaceOrder", "ChargePayment", "PaymentCharged", "ReserveStock", "StockReserved", "ScheduleShipment",
         "ShipmentScheduled"], 1),
    ("out-of-stock", "choreography"): dict.fromkeys(
        ["PlaceOrder", "OrderPlaced", "PaymentCharged", "OutOfStock", "PaymentRefunded"], 1),
    ("out-of-stock", "orchestration"): dict.fromkeys(
        ["PlaceOrder", "ChargePayment", "PaymentCharged", "ReserveStock", "OutOfStock", "RefundPayment",
         "PaymentRefunded"], 1),
    ("payment-declined", "choreography"): dict.fromkeys(["PlaceOrder", "OrderPlaced", "PaymentDeclined"], 1),
    ("payment-declined", "orchestration"): dict.fromkeys(["PlaceOrder", "ChargePayment", "PaymentDeclined"], 1),
    ("shipping-failure", "choreography"): dict.fromkeys(
        ["PlaceOrder", "OrderPlaced", "PaymentCharged", "StockReserved", "ShipmentFailed", "StockReleased",
         "PaymentRefunded"], 1),
    ("shipping-failure", "orchestration"): dict.fromkeys(
        ["PlaceOrder", "ChargePayment", "PaymentCharged", "ReserveStock", "StockReserved", "ScheduleShipment",
         "ShipmentFailed", "ReleaseStock", "StockReleased", "RefundPayment", "PaymentRefunded"], 1),
}  # fmt: skip


# The one order's story per core scenario (both modes tell the same one): failed step, error, compensations.
STORY: dict[str, tuple[str | None, str | None, list[tuple[str, str]]]] = {
    "out-of-stock": ("ReserveStock", "OutOfStock: 0 of KEYBOARD left, 1 wanted", [("RefundPayment", "done")]),
    "payment-declined": ("ChargePayment", "PaymentDeclined: card declined by the issuer", []),
    "shipping-failure": ("ScheduleShipment", "ShipmentFailed: no carrier delivers to Atlantis",
                         [("ReleaseStock", "done"), ("RefundPayment", "done")]),
}  # fmt: skip


def _options(scenario: str, mode: Mode, amqp_url: str, namespace: str, tmp_path: Path, **kw: object) -> runner.RunOptions:
    return runner.RunOptions(SCENARIOS[scenario], mode, amqp_url, tmp_path / mode, namespace, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("scenario,mode", sorted(ONE_ORDER))
async def test_one_order_ends_as_expected_with_the_exact_message_count(
    scenario: str, mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """One order of each core scenario ends as the scenario says, consistent, with exactly the messages listed,
    and its transcript is the one its golden keeps (scenarios/golden/<scenario>.json)."""
    result = await runner.run(_options(scenario, mode, amqp_url, namespace, tmp_path))
    assert result.settled
    assert result.expectation_met, not_met(result)
    assert result.golden is not None and result.golden.checked and result.golden.matched, not_met(result)
    assert result.consistency.ok, result.consistency.violations
    assert result.messages.by_type == ONE_ORDER[(scenario, mode)]
    assert result.messages.total == sum(ONE_ORDER[(scenario, mode)].values())
    assert result.messages.dead_lettered == 0
    assert (tmp_path / mode / "trace.jsonl").exists()
    if scenario not in STORY:  # a first-try completed order has no story to tell
        assert result.stories == {}
    else:
        (story,) = result.stories.values()
        told = (story.failed_step, story.error, [(c.step, c.result) for c in story.compensations])
        assert told == STORY[scenario], story


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_mixed_orders_all_end_consistent(mode: Mode, amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """A seeded mix of 60 orders racing for scarce stock: every order completed or compensated, no violation."""
    result = await runner.run(_options("mixed", mode, amqp_url, namespace, tmp_path, orders=60, seed=11))
    assert result.settled and result.expectation_met, result.expectation_failures
    assert result.orders.completed + result.orders.compensated == 60
    assert result.orders.completed > 0 and result.orders.compensated > 0
    assert result.consistency.violations == []
