"""Replies and wake-ups that must change nothing: stale, duplicate or unknown tokens, finished runs, early wakes."""

from __future__ import annotations

from datetime import datetime

import pytest

from orchestration.asl import Interpreter

from .support import at, machine, task


def two_tasks() -> Interpreter:
    return machine({"A": task("svc:a", Next="B"), "B": task("svc:b")})


def test_a_duplicate_reply_is_ignored() -> None:
    """The second delivery of the same reply finds a different pending token and is ignored."""
    interpreter = two_tasks()
    step = interpreter.start("e", {}, at(0))
    token = step.dispatches[0].token
    moved = interpreter.task_succeeded(step.execution, token, {"a": 1}, at(1))
    again = interpreter.task_succeeded(moved.execution, token, {"a": 1}, at(2))
    assert again.ignored is not None and token in again.ignored
    assert again.execution is moved.execution
    assert (again.dispatches, again.events) == ([], [])


def test_an_unknown_token_is_ignored_and_the_input_execution_is_untouched() -> None:
    """A token that was never dispatched is ignored; the execution passed in stays equal to itself."""
    interpreter = two_tasks()
    step = interpreter.start("e", {}, at(0))
    before = step.execution.model_dump()
    result = interpreter.task_failed(step.execution, "e:Nope:1", "E", "c", at(1))
    assert result.ignored
    assert step.execution.model_dump() == before


def test_replies_to_a_finished_execution_are_ignored() -> None:
    """Once an execution ended, replies and wakes are ignored."""
    interpreter = machine({"A": task()})
    step = interpreter.start("e", {}, at(0))
    done = interpreter.task_succeeded(step.execution, step.dispatches[0].token, 1, at(1))
    assert done.execution.status == "SUCCEEDED"
    assert "SUCCEEDED" in (interpreter.task_succeeded(done.execution, step.dispatches[0].token, 1, at(2)).ignored or "")
    assert interpreter.wake(done.execution, at(3)).ignored


def test_a_reply_during_retry_backoff_is_ignored() -> None:
    """While a retry backoff runs nothing is pending, so a late reply from the failed attempt is ignored."""
    interpreter = machine({"A": task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 10}])})
    step = interpreter.start("e", {}, at(0))
    failed = interpreter.task_failed(step.execution, step.dispatches[0].token, "E", "c", at(1))
    assert failed.execution.pending is None
    assert interpreter.task_succeeded(failed.execution, step.dispatches[0].token, {}, at(2)).ignored


def test_a_late_reply_from_an_earlier_attempt_is_ignored_when_the_attempt_is_given() -> None:
    """Retries share the token, so a reply naming attempt 0 while attempt 1 is pending is ignored."""
    interpreter = machine({"A": task(TimeoutSeconds=5, Retry=[{"ErrorEquals": ["States.Timeout"]}])})
    step = interpreter.start("e", {}, at(0))
    retried = interpreter.wake(interpreter.wake(step.execution, at(5)).execution, at(6))
    token = retried.dispatches[0].token
    late = interpreter.task_succeeded(retried.execution, token, {"from": 0}, at(7), attempt=0)
    assert late.ignored is not None and "attempt 0" in late.ignored
    current = interpreter.task_succeeded(retried.execution, token, {"from": 1}, at(7), attempt=1)
    assert current.execution.output == {"from": 1}


def test_a_wake_with_nothing_due_is_ignored() -> None:
    """wake before any timer is due changes nothing."""
    interpreter = machine({"A": task(TimeoutSeconds=30)})
    step = interpreter.start("e", {}, at(0))
    early = interpreter.wake(step.execution, at(29))
    assert early.ignored and early.execution is step.execution


def test_naive_times_are_refused() -> None:
    """The clock must be timezone-aware: a naive `now` raises ValueError rather than comparing wrongly."""
    interpreter = two_tasks()
    with pytest.raises(ValueError):
        interpreter.start("e", {}, datetime(2024, 1, 1))
    step = interpreter.start("e", {}, at(0))
    with pytest.raises(ValueError):
        interpreter.wake(step.execution, datetime(2024, 1, 1))


def test_steps_never_mutate_the_execution_they_are_given() -> None:
    """Every step returns a new Execution; the one passed in keeps its values."""
    interpreter = two_tasks()
    step = interpreter.start("e", {"x": [1]}, at(0))
    before = step.execution.model_dump()
    interpreter.task_succeeded(step.execution, step.dispatches[0].token, {"y": 2}, at(1))
    assert step.execution.model_dump() == before
