"""Printing an execution's history as a table (``sagalab history ORDER_ID``, ``sagalab execute``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from orchestration.asl.history import details_key
from orchestration.retention import history_retention_s

_STYLE = {"Failed": "red", "TimedOut": "red", "Succeeded": "green", "Scheduled": "cyan"}


def summary(event: dict[str, Any]) -> str:
    """One line of what matters in an event's details."""
    d = event.get(details_key(event["type"]), {}) or {}
    parts = []
    if d.get("resourceType"):  # an arn:aws:states::: integration: lambda + invoke
        parts.append(f"{d['resourceType']}:{d.get('resource', '')}")
    for key in ("name", "resource", "error", "cause"):
        if key == "resource" and d.get("resourceType"):
            continue
        if d.get(key):
            parts.append(f"{d[key]}" if key in ("name", "resource") else f"{key}={d[key]}")
    if event["type"].startswith("MapIteration"):
        parts.append(f"item {d.get('index')}")
    if event["type"] == "MapStateStarted":
        parts.append(f"{d.get('length')} items")
    if "attempt" in d and d["attempt"]:
        parts.append(f"attempt {d['attempt']}")
    for key in ("retryDelaySeconds", "retryInSeconds", "waitedSeconds"):
        if d.get(key) is not None:
            parts.append(f"{key}={d[key]}")
    return "  ".join(str(p) for p in parts)


def render_history(events: list[dict[str, Any]], console: Console) -> None:
    start = datetime.fromisoformat(events[0]["timestamp"].replace("Z", "+00:00"))
    table = Table(header_style="bold")
    for col in ("id", "prev", "+ms", "type", "details"):
        table.add_column(col, justify="right" if col in ("id", "prev", "+ms") else "left")
    depth = 0
    for e in events:
        at = datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
        style = next((s for suffix, s in _STYLE.items() if e["type"].endswith(suffix)), None)
        if e["type"] in _CLOSES:
            depth = max(depth - 1, 0)
        table.add_row(str(e["id"]), str(e["previousEventId"]), f"{(at - start).total_seconds() * 1000:.1f}",
                      "· " * depth + e["type"], summary(e), style=style)  # fmt: skip
        if e["type"] in _OPENS:
            depth += 1
    console.print(table)


def pruned_message(execution_id: str, status: str, settled_at: float | None) -> str:
    """What ``sagalab history`` says of an execution that finished and was pruned since."""
    when = datetime.fromtimestamp(settled_at).strftime("%Y-%m-%d %H:%M:%S") if settled_at else "an unknown time"
    days = history_retention_s() / 86400
    return (f"execution {execution_id!r} finished ({status}) at {when} and its history was pruned: finished "
            f"executions are kept {days:g} day(s) (SAGALAB_HISTORY_RETENTION_S)")


# The events of a Parallel's branches and a Map's iterations sit between these, indented one step per level.
_OPENS = frozenset({"ParallelStateStarted", "MapStateStarted"})
_CLOSES = frozenset({"ParallelStateSucceeded", "ParallelStateFailed", "MapStateSucceeded", "MapStateFailed"})
