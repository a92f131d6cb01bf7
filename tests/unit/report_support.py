"""Helpers for the report tests: recorded run folders laid out as the runner writes them, and tiny histories.

``report_runs/<scenario>/`` holds two recorded ``compare`` runs (one order each) as text: result.json,
trace.jsonl, definition.asl.json and the orchestrator's execution histories as ``history.json``, which
``recorded`` writes back into ``data/orchestrator.db`` with the orchestrator's own schema.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from orchestration.store import ORCHESTRATOR_SCHEMA, write_history

RECORDED = Path(__file__).parent / "report_runs"

# A small saga: charge, reserve, done; failures undo through Refund; an undo that fails ends in Broken.
DEFINITION: dict[str, Any] = {
    "StartAt": "Charge",
    "States": {
        "Charge": {"Type": "Task", "Resource": "x:charge", "Next": "Reserve",
                   "Retry": [{"ErrorEquals": ["ServiceUnavailable"], "MaxAttempts": 2}]},
        "Reserve": {"Type": "Task", "Resource": "x:reserve", "Next": "Done",
                    "Catch": [{"ErrorEquals": ["OutOfStock"], "Next": "Refund"}]},
        "Done": {"Type": "Succeed"},
        "Refund": {"Type": "Task", "Resource": "x:refund", "Next": "Cancelled",
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}]},
        "Cancelled": {"Type": "Fail", "Error": "Cancelled"},
        "Broken": {"Type": "Fail", "Error": "CompensationFailed"},
    },
}  # fmt: skip


def recorded(scenario: str, tmp_path: Path) -> Path:
    """A copy of a recorded compare folder, with each orchestration history back in its SQLite database."""
    folder = tmp_path / scenario
    shutil.copytree(RECORDED / scenario, folder)
    history_file = folder / "orchestration" / "history.json"
    data = folder / "orchestration" / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "orchestrator.db")
    with conn:
        conn.executescript(ORCHESTRATOR_SCHEMA)
        for execution_id, events in json.loads(history_file.read_text()).items():
            write_history(conn, execution_id, events)
    conn.close()
    history_file.unlink()
    return folder


def entered(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}


def exited(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name}}


def failed(error: str, *, retry: bool = False, caught_to: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"error": error, "willRetry": retry}
    if caught_to:
        details |= {"catcherIndex": 0, "next": caught_to}
    return {"type": "TaskFailed", "taskFailedEventDetails": details}


def succeeded() -> dict[str, Any]:
    return {"type": "TaskSucceeded", "taskSucceededEventDetails": {}}


def execution(kind: str) -> dict[str, Any]:
    return {"type": f"Execution{kind}"}
