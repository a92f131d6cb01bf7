"""Parallel and Map over RabbitMQ: a Standard orchestrator killed (kill -9) while a task of a Parallel branch or a
Map iteration is in flight restarts, resumes the branch from its database and applies each reply once."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from orchestration.asl.history import details_key
from orchestration.bootstrap import default_definition_path
from orchestration.histories import find_history
from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.fault_specs import read_all, with_faults

pytestmark = pytest.mark.broker


MULTI_LINE_STATES = ("OneLineOrMore", "ReserveEachLine", "CountReservedLines", "EveryLineReserved",
                     "NotEveryLineReserved", "ReleaseWhatWasReserved", "ReleaseReservedLines", "DidEveryReleaseWork",
                     "EveryLineReleased", "LineReleasesFailed")  # fmt: skip


def _checkout() -> dict[str, Any]:
    """The checkout's one-line path only (these tests rebuild its reservation; its own Map is for several lines)."""
    definition = json.loads(default_definition_path().read_text())
    states = definition["States"]
    for name in MULTI_LINE_STATES:
        del states[name]
    for state in states.values():
        for hop in [state, *state.get("Catch", [])]:
            if hop.get("Next") == "OneLineOrMore":
                hop["Next"] = "ReserveStock"
            elif hop.get("Next") == "ReleaseWhatWasReserved":
                hop["Next"] = "ReleaseStock"
    return definition


def _ends(state: dict[str, Any]) -> dict[str, Any]:
    """A checkout Task as the only state of a branch: no Catch (the Parallel/Map catches), End; a task timeout
    longer than a restart on a loaded machine, so the resumed execution awaits the reply it had in flight."""
    inner = {k: v for k, v in copy.deepcopy(state).items() if k not in ("Catch", "Next")}
    return {**inner, "TimeoutSeconds": 60, "End": True}


def parallel_checkout() -> dict[str, Any]:
    """Checkout with ReserveStock and ScheduleShipment run side by side in a Parallel."""
    definition = _checkout()
    states = definition["States"]
    reserve, ship = states.pop("ReserveStock"), states.pop("ScheduleShipment")
    states["ChargePayment"]["Next"] = "Fulfil"
    states["Fulfil"] = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "ReserveStock", "States": {"ReserveStock": _ends(reserve)}},
                     {"StartAt": "ScheduleShipment", "States": {"ScheduleShipment": _ends(ship)}}],
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelShipment"}],
        "Next": "OrderCompleted",
    }  # fmt: skip
    return definition


def map_checkout() -> dict[str, Any]:
    """Checkout reserving the order's lines (one, today) in a Map."""
    definition = _checkout()
    states = definition["States"]
    reserve = states.pop("ReserveStock")
    states["ChargePayment"]["Next"] = "Lines"
    states["Lines"] = {"Type": "Pass", "Parameters": {"all.$": "States.Array($.order)"}, "ResultPath": "$.lines",
                       "Next": "ReserveEach"}  # fmt: skip
    states["ReserveEach"] = {
        "Type": "Map",
        "ItemsPath": "$.lines.all",
        "ItemSelector": {"order.$": "$$.Map.Item.Value"},
        "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "ReserveStock", "States": {"ReserveStock": _ends(reserve)}},
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ReleaseStock"}],
        "Next": "ScheduleShipment",
    }
    return definition


def _history(run_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(run_dir / "data" / "orchestrator.db") as conn:
        (execution_id,) = conn.execute("SELECT execution_id FROM executions").fetchone()
    events = find_history(execution_id, [run_dir / "data"])
    assert events is not None
    return events


def _count(run_dir: Path, db: str, sql: str) -> int:
    with sqlite3.connect(run_dir / "data" / db) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def _crash_run(definition: dict[str, Any], crash: str, amqp_url: str, namespace: str, tmp_path: Path) -> Any:
    path = tmp_path / "definition-under-test.asl.json"
    path.write_text(json.dumps(definition))
    scenario = with_faults(SCENARIOS["happy-path"], read_all([f"orchestration/orchestrator:crash:in-flight:{crash}"]))
    out = tmp_path / "run"
    options = runner.RunOptions(scenario, "orchestration", amqp_url, out, namespace,
                                service_options={"workflow": "standard", "definition": str(path)})  # fmt: skip
    return await runner.run(options), out


async def test_standard_resumes_a_parallel_branch_after_kill_9_with_each_task_applied_once(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    result, out = await _crash_run(parallel_checkout(), "ReserveStock", amqp_url, namespace, tmp_path)
    assert result.expectation_met and result.extra["restarts"] == {"orchestrator": 1}
    events = _history(out)
    types = [e["type"] for e in events]
    assert types.count("ParallelStateStarted") == 1 and types.count("ParallelStateSucceeded") == 1
    assert types.count("TaskSucceeded") == 3  # charge, reserve, ship: each reply applied once
    assert types[-1] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert _count(out, "shipping.db", "SELECT COUNT(*) FROM shipments") == 1
    assert _count(out, "inventory.db", "SELECT COUNT(*) FROM reservation_lines") == 1


async def test_standard_resumes_a_map_iteration_after_kill_9_with_each_task_applied_once(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    result, out = await _crash_run(map_checkout(), "ReserveStock", amqp_url, namespace, tmp_path)
    assert result.expectation_met and result.extra["restarts"] == {"orchestrator": 1}
    events = _history(out)
    types = [e["type"] for e in events]
    assert types.count("MapIterationStarted") == 1 and types.count("MapIterationSucceeded") == 1
    assert types.count("TaskSucceeded") == 3
    entered = [e[details_key(e["type"])]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["ChargePayment", "Lines", "ReserveEach", "ReserveStock", "ScheduleShipment", "OrderCompleted"]
    assert _count(out, "inventory.db", "SELECT COUNT(*) FROM reservation_lines") == 1
