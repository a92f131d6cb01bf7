"""What the supervisor says when a service dies: a kill the scenario asked for is not an accident."""

from __future__ import annotations

import signal
from pathlib import Path
from types import SimpleNamespace

from scenarios.processes import ServiceProcess
from shared.config import Settings


def _dead(faults: tuple[str, ...], returncode: int) -> ServiceProcess:
    p = ServiceProcess(Settings("payment", "choreography", faults=faults), Path("/dev/null"))
    p.process = SimpleNamespace(returncode=returncode)  # type: ignore[assignment]
    return p


def test_a_kill_by_the_scenarios_crash_fault_is_named_as_such() -> None:
    assert _dead(("raise:X:1", "crash:after-commit:OutOfStock"), -signal.SIGKILL).killed_by_fault() == (
        "crash:after-commit:OutOfStock")


def test_any_other_death_is_unexpected() -> None:
    assert _dead(("crash:after-commit:OutOfStock",), 1).killed_by_fault() is None  # died of something else
    assert _dead(("raise:X:1",), -signal.SIGKILL).killed_by_fault() is None  # no crash fault: someone else killed it
