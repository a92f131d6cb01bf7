"""The orchestrator over RabbitMQ: retries with backoff, Standard resuming after kill -9, Express re-running."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from orchestration.asl.history import details_key
from orchestration.histories import find_history
from scenarios import runner
from scenarios.catalogue import SCENARIOS

pytestmark = pytest.mark.broker


def _history(run_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(run_dir / "data" / "orchestrator.db") as conn:
        (execution_id,) = conn.execute("SELECT execution_id FROM executions").fetchone()
    events = find_history(execution_id, [run_dir / "data"])
    assert events is not None
    return events


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return event.get(details_key(event["type"]), {})


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [_details(e)["name"] for e in events if e["type"].endswith("StateEntered")]


def _count(run_dir: Path, db: str, sql: str) -> int:
    with sqlite3.connect(run_dir / "data" / db) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def test_a_transient_failure_is_retried_with_backoff_and_the_saga_completes(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """ChargePayment fails twice with ServiceUnavailable; the history shows three attempts, 1 s then 2 s apart."""
    result = await runner.run(runner.RunOptions(SCENARIOS["transient-failure"], "orchestration", amqp_url, tmp_path,
                                                namespace))  # fmt: skip
    assert result.expectation_met and result.orders.completed == 1
    events = _history(tmp_path)
    scheduled = [e for e in events if e["type"] == "TaskScheduled" and _details(e)["resource"].endswith("ChargePayment")]
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert [_details(e)["attempt"] for e in scheduled] == [0, 1, 2]
    assert [(_details(e)["error"], _details(e)["willRetry"], _details(e)["retryDelaySeconds"]) for e in failed] == [
        ("ServiceUnavailable", True, 1.0), ("ServiceUnavailable", True, 2.0)]  # fmt: skip
    at = [datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in scheduled]
    assert (at[1] - at[0]).total_seconds() >= 1.0 and (at[2] - at[1]).total_seconds() >= 2.0
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert _count(tmp_path, "payment.db", "SELECT COUNT(*) FROM charges") == 1


async def test_standard_resumes_after_kill_9_without_running_a_step_twice(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """kill -9 of the orchestrator mid-saga: it restarts and finishes; every state and command happens once."""
    result = await runner.run(runner.RunOptions(SCENARIOS["coordinator-crash"], "orchestration", amqp_url, tmp_path,
                                                namespace, service_options={"workflow": "standard"}))  # fmt: skip
    assert result.expectation_met and result.extra["restarts"] == {"orchestrator": 1}
    assert _entered(_history(tmp_path)) == ["ChargePayment", "OneLineOrMore", "ReserveStock", "ScheduleShipment", "OrderCompleted"]
    assert set(result.messages.by_type.values()) == {1}
    assert _count(tmp_path, "payment.db", "SELECT COUNT(*) FROM charges") == 1
    assert _count(tmp_path, "shipping.db", "SELECT COUNT(*) FROM shipments") == 1


async def test_express_runs_again_from_the_start_after_a_crash_with_single_effects(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """kill -9 of an Express orchestrator: the order is redelivered and run again; inboxes keep effects single."""
    result = await runner.run(runner.RunOptions(SCENARIOS["coordinator-crash"], "orchestration", amqp_url, tmp_path,
                                                namespace, service_options={"workflow": "express"}))  # fmt: skip
    assert result.expectation_met and result.orders.completed == 1
    by_type = result.messages.by_type
    assert by_type["ChargePayment"] == 2 and by_type["ReserveStock"] == 2 and by_type["ScheduleShipment"] == 1
    assert result.extra["duplicates dropped"] >= 2
    assert _count(tmp_path, "payment.db", "SELECT COUNT(*) FROM charges") == 1
    assert _count(tmp_path, "inventory.db", "SELECT COUNT(*) FROM reservation_lines") == 1
    events = _history(tmp_path)
    assert [e["type"] for e in events].count("ExecutionStarted") == 1
    assert _entered(events) == ["ChargePayment", "OneLineOrMore", "ReserveStock", "ScheduleShipment", "OrderCompleted"]


async def test_the_result_json_can_carry_each_execution_history(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """With include_history, result.extra.history holds each order's GetExecutionHistory-shaped events."""
    result = await runner.run(runner.RunOptions(SCENARIOS["out-of-stock"], "orchestration", amqp_url, tmp_path,
                                                namespace, include_history=True))  # fmt: skip
    (events,) = result.extra["history"].values()
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionFailed"
    assert _entered(events) == ["ChargePayment", "OneLineOrMore", "ReserveStock", "RefundPayment", "CompensationsDone", "OrderCancelled"]
    assert "ExecutionFailed" in result.model_dump_json()
