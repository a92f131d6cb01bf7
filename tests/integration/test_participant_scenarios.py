"""The participant rules as a user meets them: scenario runs, their outcome and the result's counters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.checks import Completes, DeadLettered
from scenarios.scenario import Scenario, same
from shared.config import Mode

pytestmark = pytest.mark.broker


def _options(scenario: Scenario, mode: Mode, amqp_url: str, namespace: str, tmp_path: Path) -> runner.RunOptions:
    return runner.RunOptions(scenario, mode, amqp_url, tmp_path / mode, namespace)


async def test_inventory_failing_for_good_in_choreography_ends_refunded(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """A scenario written outside the catalogue: Inventory's handler always crashes on one PaymentCharged.
    On the last attempt the queue allows, Inventory emits OutOfStock, Payment refunds, and the order ends
    compensated and consistent; the message is dead-lettered once, as HandlerFailed."""
    scenario = Scenario(
        "inventory-bug", "Inventory crashes on one order's PaymentCharged every time.", {"KEYBOARD": 100}, same(),
        default_orders=2, faults={"choreography": {"inventory": ("bug:PaymentCharged:1",)}},
        expect=(Completes(1), DeadLettered(1)),
    )  # fmt: skip
    result = await runner.run(_options(scenario, "choreography", amqp_url, namespace, tmp_path))
    assert result.expectation_met, result.expectation_failures
    assert result.consistency.ok, result.consistency.violations
    assert (result.orders.completed, result.orders.compensated) == (1, 1)
    assert result.messages.by_type.get("OutOfStock") == 1 and result.messages.by_type.get("PaymentRefunded") == 1
    assert result.messages.dead_lettered_by_reason == {"HandlerFailed": 1}


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_a_step_repeated_under_a_new_id_is_counted_as_ignored(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """``duplicate-new-id``: the charge trigger again under a new message id charges once, the order
    completes, and the result counts the copy under ``messages.ignored`` (in orchestration the answer
    Payment gives it again is ignored by the orchestrator too: no task awaits it)."""
    result = await runner.run(_options(SCENARIOS["duplicate-new-id"], mode, amqp_url, namespace, tmp_path))
    assert result.expectation_met, result.expectation_failures
    ignored = {"choreography": 1, "orchestration": 2}[mode]
    assert (result.messages.ignored, result.messages.refused) == (ignored, 0)


async def test_the_express_rerun_is_refused_and_counted(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """``express-rerun-after-compensation``: the re-run's ReserveStock (same message id) is refused by the
    barrier, counted under ``messages.refused``, and the order ends compensated; without the barrier the
    same run completes with no stock held (``unsafe-no-barrier``)."""
    safe = await runner.run(_options(SCENARIOS["express-rerun-after-compensation"], "orchestration", amqp_url,
                                     namespace, tmp_path / "safe"))  # fmt: skip
    assert safe.expectation_met, safe.expectation_failures
    assert safe.messages.refused == 1 and safe.extra["restarts"]
    unsafe = await runner.run(_options(SCENARIOS["unsafe-no-barrier"], "orchestration", amqp_url, namespace,
                                       tmp_path / "unsafe"))  # fmt: skip
    assert unsafe.expectation_met, unsafe.expectation_failures
    assert unsafe.outcomes and set(unsafe.outcomes.values()) == {"inconsistent"}
    assert unsafe.messages.refused == 0


async def test_dead_letters_are_counted_by_reason(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """``malformed-message`` with fewer orders: the three poison messages are counted by their error type."""
    scenario = replace(SCENARIOS["malformed-message"], default_orders=1)
    result = await runner.run(_options(scenario, "choreography", amqp_url, namespace, tmp_path))
    assert result.expectation_met, result.expectation_failures
    assert result.messages.dead_lettered_by_reason == {"UndecodableMessage": 3}
