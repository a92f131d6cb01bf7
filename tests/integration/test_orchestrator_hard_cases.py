"""The orchestrator's hard cases over RabbitMQ: a definition edited across a restart, a compensation that
fails for good, a retry after a timeout answered from the participant's stored reply, and a data bug."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestration.asl.history import details_key
from orchestration.bootstrap import default_definition_path
from orchestration.histories import find_definition, find_history
from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.checks import AllEnd, Violates
from scenarios.scenario import PLENTY, Scenario, same
from shared.stores.orders import read_orders

pytestmark = pytest.mark.broker


def _history(run_dir: Path) -> tuple[str, list[dict[str, Any]]]:
    with sqlite3.connect(run_dir / "data" / "orchestrator.db") as conn:
        (execution_id,) = conn.execute("SELECT execution_id FROM executions").fetchone()
    events = find_history(execution_id, [run_dir / "data"])
    assert events is not None
    return execution_id, events


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return event.get(details_key(event["type"]), {})


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [_details(e)["name"] for e in events if e["type"].endswith("StateEntered")]


def _rows(run_dir: Path, db: str, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(run_dir / "data" / db) as conn:
        return conn.execute(sql).fetchall()


def _order(run_dir: Path) -> tuple[str, str]:
    with sqlite3.connect(run_dir / "data" / "orchestrator.db") as conn:
        (record,) = read_orders(conn).values()
    return record.status, record.detail


def _edited_checkout(tmp_path: Path, state: str, **changes: Any) -> Path:
    """The default checkout definition with fields of one state changed, written beside the test's run."""
    definition = json.loads(default_definition_path().read_text())
    definition["States"][state].update(changes)
    path = tmp_path / "checkout.edited.asl.json"
    path.write_text(json.dumps(definition))
    return path


@pytest.mark.parametrize("workflow", ["standard", "express"])
async def test_an_execution_finishes_on_the_definition_it_started_on(
    workflow: str, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """The orchestrator process is killed while ReserveStock is in flight and restarted on a file where
    ReserveStock and ScheduleShipment are renamed: the order completes on the old graph (no KeyError, no
    dead letter), and the history names the definition it ran on."""
    result = await runner.run(runner.RunOptions(SCENARIOS["definition-change"], "orchestration", amqp_url, tmp_path,
                                                namespace, service_options={"workflow": workflow}))  # fmt: skip
    assert result.expectation_met, result.expectation_failures
    assert result.orders.completed == 1 and result.extra["restarts"] == {"orchestrator": 1}
    assert result.messages.dead_lettered == 0
    assert "ReserveItems" in (tmp_path / "definition.edited.asl.json").read_text()
    execution_id, events = _history(tmp_path)
    assert _entered(events)[-3:] == ["ReserveStock", "ScheduleShipment", "OrderCompleted"]
    definition = find_definition(execution_id, [tmp_path / "data"])
    assert definition is not None and definition["name"] == "checkout.asl.json"
    assert definition["digest"].startswith("sha256:")
    shown = subprocess.run([sys.executable, "-m", "sagalab.cli", "history", execution_id, "--run", str(tmp_path)],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"definition checkout.asl.json {definition['digest'][:19]}" in shown


async def test_a_compensation_that_fails_for_good_does_not_stop_the_refund(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Shipping fails and ReleaseStock always fails: RefundPayment still runs, and the order is parked as
    needing attention with a detail naming the failed step and its error; the oracle reports both."""
    result = await runner.run(runner.RunOptions(SCENARIOS["compensation-fails"], "orchestration", amqp_url, tmp_path,
                                                namespace))  # fmt: skip
    assert result.settled and result.expectation_met, result.expectation_failures
    assert _rows(tmp_path, "payment.db", "SELECT COUNT(*) FROM refunds") == [(1,)]
    status, detail = _order(tmp_path)
    assert status == "needs-attention" and detail.startswith("ReleaseStock failed: HandlerBug")
    parked = [v for v in result.consistency.violations if v.rule == "termination.needs-attention"]
    assert len(parked) == 1 and "ReleaseStock failed" in parked[0].detail
    _, events = _history(tmp_path)
    assert _entered(events)[-4:] == ["ReleaseStockFailed", "RefundPayment", "CompensationsDone", "CompensationFailed"]


async def test_a_retry_after_a_timeout_takes_the_participants_stored_reply(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Inventory answers the first ReserveStock after 2 s, past its 1 s timeout: the late reply is ignored
    while the retry waits (3 s); the retry re-sends the same command, Inventory's inbox re-sends the same
    stored reply, and the orchestrator applies it: the order completes with one reservation."""
    definition = _edited_checkout(
        tmp_path, "ReserveStock", TimeoutSeconds=1,
        Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 1}],
    )  # fmt: skip
    scenario = Scenario("slow-first-answer", "the first ReserveStock is answered late", PLENTY, same(),
                        faults={"orchestration": {"inventory": ("delay:ReserveStock:2:1",)}},
                        expect=(AllEnd("completed"),))  # fmt: skip
    result = await runner.run(runner.RunOptions(scenario, "orchestration", amqp_url, tmp_path, namespace,
                                                service_options={"definition": str(definition)}))  # fmt: skip
    assert result.settled and result.expectation_met, result.expectation_failures
    _, events = _history(tmp_path)
    reserve = [e for e in events if _details(e).get("resource", "").endswith("ReserveStock")]
    assert [(e["type"], _details(e)["attempt"]) for e in reserve if e["type"] != "TaskStarted"] == [
        ("TaskScheduled", 0), ("TaskTimedOut", 0), ("TaskScheduled", 1), ("TaskSucceeded", 1)]  # fmt: skip
    assert _rows(tmp_path, "inventory.db", "SELECT COUNT(*) FROM reservation_lines") == [(1,)]


async def test_a_data_bug_in_a_tasks_parameters_parks_the_order_instead_of_compensating(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """ReserveStock's Parameters read a path the input does not have: the execution fails with
    States.Runtime (Catch States.ALL does not run the compensations), and the order, charged, is parked as
    needing attention with that reason, which the oracle reports instead of a silent 'compensated'."""
    definition = _edited_checkout(tmp_path, "ReserveStock", Parameters={"order.$": "$.order", "note.$": "$.gift_note"})
    scenario = Scenario("data-bug", "a Parameters path the input lacks", PLENTY, same(),
                        expect=(Violates("termination.needs-attention"),))
    result = await runner.run(runner.RunOptions(scenario, "orchestration", amqp_url, tmp_path, namespace,
                                                service_options={"definition": str(definition)}))  # fmt: skip
    assert result.settled and result.expectation_met, result.expectation_failures
    status, detail = _order(tmp_path)
    assert status == "needs-attention" and detail.startswith("States.Runtime: ") and "$.gift_note" in detail
    assert "RefundPayment" not in result.messages.by_type and "ReserveStock" not in result.messages.by_type
    _, events = _history(tmp_path)
    assert events[-1]["type"] == "ExecutionFailed" and _details(events[-1])["error"] == "States.Runtime"
    assert {v.rule for v in result.consistency.violations} == {"termination.needs-attention", "money.net"}
