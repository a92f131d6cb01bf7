"""Replicas (``--instances K``): K competing processes of every service, the orchestrator and the order service
included, on one shared reply queue and one database per service; single replicas killed under chaos.

None of these restarts the broker (the shared one must not be disturbed): the broker restart of ``sagalab
chaos`` is tested with one replica in test_chaos.py. The bounded chaos run is in the default set; the
bigger one, Express included, is marked slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import runner
from scenarios.chaos import ChaosPlan, chaos_scenario
from scenarios.checks import BROKEN_COMPENSATION_RULES
from shared.config import Mode

pytestmark = pytest.mark.broker

SERVICES: dict[Mode, set[str]] = {"choreography": {"orders", "payment", "inventory", "shipping"},
                                  "orchestration": {"orchestrator", "payment", "inventory", "shipping"}}  # fmt: skip


def test_compare_out_of_stock_with_two_replicas_is_consistent_in_both_modes(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """`sagalab compare out-of-stock --instances 2`: two processes of every service in each mode, the charge
    refunded exactly once, the result saying how many replicas each service ran; no per-replica reply queue."""
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "compare", "out-of-stock", "--instances", "2",
                          "--orders", "3", "--json", str(tmp_path / "out.json"), "--amqp-url", amqp_url,
                          "--namespace", namespace, "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    for mode in ("choreography", "orchestration"):
        r = data[mode]
        assert r["settled"] and r["expectation_met"], r.get("expectation_failures")
        assert r["consistency"] == {"ok": True, "violations": []}
        assert r["orders"]["compensated"] == 3 and r["orders"]["stuck"] == 0
        assert r["extra"]["replicas"] == dict.fromkeys(SERVICES[mode], 2)  # type: ignore[arg-type]
        refunds = "RefundPayment" if mode == "orchestration" else "PaymentRefunded"
        assert r["messages"]["by_type"][refunds] == 3
    logs = sorted(p.name for p in (tmp_path / "run" / "orchestration" / "logs").glob("orchestrator*.log"))
    assert logs == ["orchestrator.1.log", "orchestrator.log"]


async def _replica_chaos(mode: Mode, orders: int, plan: ChaosPlan, amqp_url: str, namespace: str, out: Path,
                         workflow: str = "standard", instances: int = 3) -> None:  # fmt: skip
    scenario = chaos_scenario(orders, plan)
    options = runner.RunOptions(scenario, mode, amqp_url, out, namespace, orders=orders, instances=instances,
                                service_options={"workflow": workflow} if mode == "orchestration" else {})  # fmt: skip
    result = await runner.run(options)
    broken = scenario.broken_on_purpose(mode)
    assert result.expectation_met, result.expectation_failures
    # The order chosen to have its release broken may go out of stock instead (replicas take orders in another
    # order than one process would), and then has no release to break: parked or compensated, never lost.
    parked = {v.order_id[-5:] for v in result.consistency.violations}
    assert parked <= set(broken)
    assert result.settled and result.orders.stuck == 0 and result.orders.inconsistent == len(parked)
    assert result.orders.completed + result.orders.compensated == orders - len(parked)
    # nothing applied twice or lost: the only violations are those the release broken on purpose must leave
    assert {(v.order_id[-5:], v.rule) for v in result.consistency.violations} == {
        (suffix, rule) for suffix in parked for rule in BROKEN_COMPENSATION_RULES}
    assert result.extra["replicas"] == dict.fromkeys(SERVICES[mode], instances)
    kills = {name: n for name, n in result.extra["faults_injected"].items() if name.startswith("kill ")}
    killed = {name.removeprefix("kill ").split(".")[0] for name in kills}
    assert killed == SERVICES[mode], kills  # each service lost a replica at least once
    assert any("." in name for name in kills), kills  # and not always the first one
    given_up = result.extra["dead_lettered_broken_on_purpose"]
    assert result.extra["faults_injected"]["poison"] == plan.poison == result.messages.dead_lettered - given_up


@pytest.mark.parametrize("mode", [pytest.param("choreography", marks=pytest.mark.slow), "orchestration"])
async def test_bounded_chaos_with_three_replicas_loses_nothing_and_doubles_nothing(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """24 orders over 8 s, three replicas of every service, a replica of each killed twice (kill -9, restarted),
    duplicates under the same and new ids, poison, an edited definition: 0 lost, 0 applied twice, 0 stuck."""
    plan = ChaosPlan(duration_s=8, kills_per_service=2, broker_restarts=0, duplicates=4, fresh_duplicates=2,
                     poison=2, seed=5)  # fmt: skip
    await _replica_chaos(mode, 24, plan, amqp_url, namespace, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "workflow"), [("choreography", "standard"), ("orchestration", "standard"),
                                                ("orchestration", "express")])  # fmt: skip
async def test_chaos_with_three_replicas_and_two_hundred_orders(
    mode: Mode, workflow: str, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """200 orders over 30 s, three replicas of every service, a replica of each killed three times, every fault
    kind but the broker restart; Express too (its running executions then live in the shared database)."""
    plan = ChaosPlan(duration_s=30, kills_per_service=3, broker_restarts=0, duplicates=20, fresh_duplicates=8,
                     poison=6, seed=11)  # fmt: skip
    await _replica_chaos(mode, 200, plan, amqp_url, namespace, tmp_path, workflow)
