"""What the services' JSON logs say about each delivery: the defences' work and every failed attempt.

The logs are the services' own word for what the broker and the tap cannot see: an inbox that dropped a
duplicate, a delivery the broker marked redelivered, a handler that failed and was requeued (choreography's
retry is the broker's redelivery, so its attempts live here). One ``handled`` line per delivery that
committed, one ``handler failed`` line per attempt that raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Attempt:
    """One delivery of a message to a service, as its log tells it: when, and the error if it raised."""

    t: float
    service: str
    message_type: str
    order_id: str
    message_id: str
    error: str | None = None


@dataclass
class ServiceLogs:
    """The lines of every service's log that count deliveries, read once."""

    attempts: list[Attempt] = field(default_factory=list)
    duplicates_dropped: int = 0
    """Deliveries the inbox recognised by their message id and answered without a second effect."""
    redelivered: int = 0
    """Deliveries the broker marked redelivered (a requeue after a failure, a crash or a lost connection)."""

    def add(self, entry: dict[str, Any]) -> None:
        event = str(entry.get("event", ""))
        handled, failed = event == "handled", event.startswith("handler failed")
        if not (handled or failed):
            return
        self.duplicates_dropped += bool(entry.get("duplicate"))
        self.redelivered += bool(entry.get("redelivered")) or int(entry.get("delivery_count") or 0) > 0
        if handled and entry.get("failed") and not entry.get("gave_up"):
            return  # the closing line of a delivery answered with its error: the failure was logged as it failed
        if handled and not entry.get("failed") and entry.get("verdict") != "handled":
            return  # a duplicate, a refusal or an answer given again: no attempt at the step
        error = entry.get("error") if failed else entry.get("failed")
        self.attempts.append(Attempt(
            t=_epoch(entry.get("timestamp")), service=str(entry.get("service", "?")),
            message_type=str(entry.get("message_type", "?")), order_id=str(entry.get("correlation_id", "")),
            message_id=str(entry.get("message_id", "")), error=str(error) if error else None,
        ))  # fmt: skip

    def counts(self) -> dict[str, int]:
        """The counts the result kept in ``extra`` before it had a ``defences`` block (names kept)."""
        return {"redelivered": self.redelivered, "duplicates dropped": self.duplicates_dropped}


def read_logs(logs: Path) -> ServiceLogs:
    return parse_lines(
        line for path in sorted(logs.glob("*.log")) for line in path.read_text(errors="replace").splitlines()
    )


def parse_lines(lines: Iterable[str]) -> ServiceLogs:
    read = ServiceLogs()
    for line in lines:
        if '"handle' not in line:
            continue  # most lines are neither a handled delivery nor a failed one
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            read.add(entry)
    return read


def _epoch(stamp: object) -> float:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
