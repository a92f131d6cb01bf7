"""Chaos: random kills, a broker restart, duplicates and poison under a stream of orders, in both modes.

The bounded run is part of every test run; the full one (1000 orders, every service killed three times)
is marked slow: ``pytest -m slow`` or ``make test-slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import runner
from scenarios.broker_control import BrokerControl
from scenarios.chaos import ChaosPlan, chaos_scenario
from scenarios.checks import BROKEN_COMPENSATION_RULES
from shared.config import Mode

pytestmark = [pytest.mark.broker, pytest.mark.broker_control]  # chaos restarts the broker


def _require_control(amqp_url: str) -> None:
    if BrokerControl.find(amqp_url) is None:
        pytest.fail("chaos restarts the broker: run it locally or set SAGALAB_RABBITMQCTL (see README)", pytrace=False)


async def _chaos(mode: Mode, orders: int, plan: ChaosPlan, amqp_url: str, namespace: str, out: Path) -> None:
    _require_control(amqp_url)
    scenario = chaos_scenario(orders, plan)  # the runner's default seed, 7, places the orders
    result = await runner.run(runner.RunOptions(scenario, mode, amqp_url, out, namespace, orders=orders))
    faults = result.extra["faults_injected"]
    broken = scenario.broken_on_purpose(mode)
    assert result.expectation_met, result.expectation_failures
    assert result.settled and result.orders.completed + result.orders.compensated == orders - len(broken)
    # the only violations are those a release broken for good must leave: stock held, the order parked
    # naming the step; never money (the refund still ran)
    assert len(broken) == plan.broken_compensations
    assert {(v.order_id[-5:], v.rule) for v in result.consistency.violations} == {
        (suffix, rule) for suffix in broken for rule in BROKEN_COMPENSATION_RULES}
    assert all("ReleaseStock failed: " in v.detail for v in result.consistency.violations
               if v.rule == "termination.needs-attention")  # fmt: skip
    assert faults["broker restart"] == plan.broker_restarts
    if mode == "orchestration":
        assert faults["definition edited"] == plan.definition_changes
    given_up = result.extra["dead_lettered_broken_on_purpose"]
    assert faults["poison"] == plan.poison == result.messages.dead_lettered - given_up
    for service, restarts in result.extra["restarts"].items():
        assert restarts >= plan.kills_per_service, (service, restarts)


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_bounded_chaos_loses_nothing_and_doubles_nothing(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """120 orders over 12 s, every service killed twice, one broker restart, duplicates under the same and new ids,
    an edited definition, one release broken for good: no violation but that release's, all settled."""
    plan = ChaosPlan(duration_s=12, kills_per_service=2, broker_restarts=1, duplicates=8, poison=4, seed=3)
    await _chaos(mode, 120, plan, amqp_url, namespace, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_full_chaos_with_a_thousand_orders(mode: Mode, amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """1000 orders over 90 s, every service killed three times, one broker restart and every other fault kind:
    no violation but the broken release's."""
    plan = ChaosPlan(duration_s=90, kills_per_service=3, broker_restarts=1, duplicates=30, poison=10, seed=11)
    await _chaos(mode, 1000, plan, amqp_url, namespace, tmp_path)
