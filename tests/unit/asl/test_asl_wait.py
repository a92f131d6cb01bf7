"""Wait states: Seconds, SecondsPath, Timestamp and TimestampPath on the injected clock."""

from __future__ import annotations

from typing import Any

import pytest

from .support import at, machine


def waiting(wait: dict[str, Any], input: Any) -> Any:
    interpreter = machine({"W": {"Type": "Wait", "Next": "Done", **wait}, "Done": {"Type": "Succeed"}})
    return interpreter, interpreter.start("e", input, at(0))


@pytest.mark.parametrize(
    ("wait", "input", "until"),
    [
        ({"Seconds": 30}, {}, at(30)),
        ({"SecondsPath": "$.delay"}, {"delay": 12}, at(12)),
        ({"Timestamp": "2024-01-01T00:01:00Z"}, {}, at(60)),
        ({"TimestampPath": "$.when"}, {"when": "2024-01-01T02:00:00+02:00"}, at(0)),
        ({"TimestampPath": "$.when"}, {"when": "2024-01-01T00:00:05.250Z"}, at(5.25)),
    ],
)
def test_wait_sets_the_timer_and_exits_when_woken(wait: dict[str, Any], input: Any, until: Any) -> None:
    """Each Wait variant computes its end; the state exits on the wake at that moment (at once if already past)."""
    interpreter, step = waiting(wait, input)
    if until <= at(0):
        assert step.execution.status == "SUCCEEDED"
        return
    assert (step.execution.wake_at, step.execution.wake_for) == (until, "wait")
    assert interpreter.wake(step.execution, until - (until - at(0)) / 2).ignored
    done = interpreter.wake(step.execution, until)
    assert [e.type for e in done.events] == ["WaitStateExited", "SucceedStateEntered", "SucceedStateExited",
                                             "ExecutionSucceeded"]
    assert done.execution.output == input


def test_wait_applies_input_and_output_paths() -> None:
    """SecondsPath reads the effective input (after InputPath); OutputPath shapes what leaves the Wait."""
    interpreter, step = waiting({"InputPath": "$.inner", "SecondsPath": "$.s", "OutputPath": "$.keep"},
                                {"inner": {"s": 4, "keep": "k"}})
    assert step.execution.wake_at == at(4)
    assert interpreter.wake(step.execution, at(4)).execution.output == "k"


@pytest.mark.parametrize("input", [{"delay": "soon"}, {"delay": -1}, {}])
def test_a_bad_seconds_path_fails_the_execution(input: Any) -> None:
    """SecondsPath must select a non-negative integer; anything else is States.Runtime."""
    _, step = waiting({"SecondsPath": "$.delay"}, input)
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")


def test_a_bad_timestamp_path_fails_the_execution() -> None:
    """TimestampPath must select an RFC 3339 timestamp."""
    _, step = waiting({"TimestampPath": "$.when"}, {"when": "tomorrow"})
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")


def test_wait_beyond_the_execution_timeout_wakes_for_the_timeout_first() -> None:
    """A Wait ending after the execution deadline: wake_at is the deadline and the execution times out."""
    interpreter = machine({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=10)
    step = interpreter.start("e", {}, at(0))
    assert (step.execution.wake_at, step.execution.wake_for) == (at(10), "execution_timeout")
    assert interpreter.wake(step.execution, at(10)).execution.status == "TIMED_OUT"
