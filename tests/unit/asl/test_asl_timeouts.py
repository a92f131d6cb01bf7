"""Execution timeouts (TIMED_OUT) and task timeouts (States.Timeout, retriable and catchable)."""

from __future__ import annotations

from .support import at, machine, of_type, task


def test_execution_timeout_ends_the_run_as_timed_out() -> None:
    """Top-level TimeoutSeconds: wake at the deadline gives ExecutionTimedOut and status TIMED_OUT."""
    interpreter = machine({"T": task()}, TimeoutSeconds=60)
    step = interpreter.start("e", {}, at(0))
    assert (step.execution.wake_at, step.execution.wake_for) == (at(60), "execution_timeout")
    done = interpreter.wake(step.execution, at(60))
    assert done.execution.status == "TIMED_OUT"
    assert (done.execution.error, done.execution.pending) == ("States.Timeout", None)
    assert [e.type for e in done.events] == ["ExecutionTimedOut"]
    assert done.events[0].details["error"] == "States.Timeout"


def test_task_timeout_raises_states_timeout_and_fails_without_handlers() -> None:
    """Task TimeoutSeconds: the wake at timeout_at emits TaskTimedOut and fails the execution with States.Timeout."""
    interpreter = machine({"T": task(TimeoutSeconds=5)})
    step = interpreter.start("e", {}, at(0))
    assert step.dispatches[0].timeout_at == at(5)
    assert (step.execution.wake_at, step.execution.wake_for) == (at(5), "task_timeout")
    done = interpreter.wake(step.execution, at(5))
    assert [e.type for e in done.events] == ["TaskTimedOut", "ExecutionFailed"]
    assert (done.execution.status, done.execution.error) == ("FAILED", "States.Timeout")


def test_task_timeout_can_be_retried() -> None:
    """A retrier on States.Timeout re-dispatches the same token with a new attempt and a new timeout."""
    retry = [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 2}]
    interpreter = machine({"T": task(TimeoutSeconds=5, Retry=retry)})
    step = interpreter.start("e", {}, at(0))
    timed_out = interpreter.wake(step.execution, at(5))
    assert timed_out.events[0].details["willRetry"] is True
    assert timed_out.execution.wake_at == at(7)
    retried = interpreter.wake(timed_out.execution, at(7))
    assert (retried.dispatches[0].attempt, retried.dispatches[0].timeout_at) == (1, at(12))
    assert retried.dispatches[0].token == step.dispatches[0].token


def test_task_timeout_can_be_caught() -> None:
    """Catch on States.Timeout takes the timed-out task to its handler state with the error output."""
    interpreter = machine({
        "T": task(TimeoutSeconds=5, Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "H", "ResultPath": "$.err"}]),
        "H": {"Type": "Pass", "End": True},
    })
    step = interpreter.start("e", {"a": 1}, at(0))
    done = interpreter.wake(step.execution, at(5))
    assert done.execution.status == "SUCCEEDED"
    assert done.execution.output["err"]["Error"] == "States.Timeout"
    assert done.execution.output["a"] == 1


def test_timeout_seconds_path_reads_the_timeout_from_the_input() -> None:
    """TimeoutSecondsPath takes the task timeout from the effective input."""
    interpreter = machine({"T": task(TimeoutSecondsPath="$.limit")})
    step = interpreter.start("e", {"limit": 9}, at(0))
    assert step.dispatches[0].timeout_at == at(9)
    assert of_type(step.events, "TaskScheduled")[0].details["timeoutInSeconds"] == 9


def test_a_reply_after_the_task_timeout_is_handled_as_the_timeout() -> None:
    """A reply processed at or after timeout_at loses: the timeout fires instead and the result is dropped."""
    interpreter = machine({"T": task(TimeoutSeconds=5)})
    step = interpreter.start("e", {}, at(0))
    late = interpreter.task_succeeded(step.execution, step.dispatches[0].token, {"ok": 1}, at(6))
    assert late.ignored is None
    assert [e.type for e in late.events] == ["TaskTimedOut", "ExecutionFailed"]
    assert late.execution.error == "States.Timeout"


def test_a_reply_for_a_caught_timeout_is_ignored() -> None:
    """After a timeout was caught and the run moved on, the late reply with the old token changes nothing."""
    interpreter = machine({
        "T": task(TimeoutSeconds=5, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Next"}]),
        "Next": task("svc:other"),
    })
    step = interpreter.start("e", {}, at(0))
    moved = interpreter.wake(step.execution, at(5))
    assert moved.execution.pending is not None and moved.execution.pending.state_name == "Next"
    late = interpreter.task_succeeded(moved.execution, step.dispatches[0].token, {"late": True}, at(6))
    assert late.ignored and late.execution is moved.execution
    assert (late.events, late.dispatches) == ([], [])


def test_the_earliest_timer_decides_wake_at() -> None:
    """With both a task timeout and an execution timeout pending, wake_at is the earlier one."""
    interpreter = machine({"T": task(TimeoutSeconds=50)}, TimeoutSeconds=20)
    step = interpreter.start("e", {}, at(0))
    assert (step.execution.wake_at, step.execution.wake_for) == (at(20), "execution_timeout")
    later = machine({"T": task(TimeoutSeconds=5)}, TimeoutSeconds=20).start("e", {}, at(0))
    assert (later.execution.wake_at, later.execution.wake_for) == (at(5), "task_timeout")
