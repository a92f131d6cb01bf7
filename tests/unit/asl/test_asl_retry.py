"""Retry: backoff timing on the injected clock, MaxDelaySeconds, FULL jitter, per-retrier counts, MaxAttempts 0."""

from __future__ import annotations

import random

import pytest

from orchestration.asl import Interpreter, Step
from orchestration.asl.errors import ErrorMatcher
from orchestration.asl.retry import Retrier, backoff_seconds

from .support import at, due, machine, of_type, task


def fail(interpreter: Interpreter, step: Step, error: str, seconds: float) -> Step:
    """Fail the pending attempt at `seconds` on the clock."""
    assert step.execution.pending is not None
    token = step.execution.pending.token
    return interpreter.task_failed(step.execution, token, error, f"{error} happened", at(seconds))


def test_backoff_waits_interval_times_rate_to_the_power_n_minus_1() -> None:
    """IntervalSeconds 2, BackoffRate 3: waits of 2, 6, 18 s before retries 1, 2, 3."""
    retrier = Retrier(ErrorMatcher.of(["E"]), interval_seconds=2, max_attempts=3, backoff_rate=3.0)
    assert [backoff_seconds(retrier, n, random.Random(0)) for n in (1, 2, 3)] == [2.0, 6.0, 18.0]


def test_retry_defaults_are_interval_1_rate_2_and_three_attempts() -> None:
    """A retrier with only ErrorEquals retries 3 times after 1, 2 and 4 seconds, then fails the execution."""
    interpreter = machine({"T": task(Retry=[{"ErrorEquals": ["Boom"]}])})
    step = interpreter.start("e", {}, at(0))
    clock, waits = 0.0, []
    for _ in range(3):
        step = fail(interpreter, step, "Boom", clock)
        assert step.execution.wake_for == "retry" and step.dispatches == []
        waits.append((due(step.execution) - at(clock)).total_seconds())
        clock = (due(step.execution) - at(0)).total_seconds()
        step = interpreter.wake(step.execution, at(clock))
        assert step.dispatches[0].attempt == len(waits)
    assert waits == [1.0, 2.0, 4.0]
    step = fail(interpreter, step, "Boom", clock)
    assert (step.execution.status, step.execution.error) == ("FAILED", "Boom")


def test_retry_waits_are_measured_from_the_failure_on_the_injected_clock() -> None:
    """The retry is dispatched only when the clock reaches failure time + backoff; an early wake is ignored."""
    interpreter = machine({"T": task(Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 5}])})
    step = fail(interpreter, interpreter.start("e", {}, at(0)), "Boom", 3)
    assert step.execution.wake_at == at(8)
    assert interpreter.wake(step.execution, at(7.9)).ignored
    retried = interpreter.wake(step.execution, at(8))
    assert retried.dispatches[0].attempt == 1
    assert retried.execution.pending is not None and retried.execution.pending.scheduled_at == at(8)


def test_max_delay_seconds_caps_the_backoff() -> None:
    """IntervalSeconds 4, rate 3, MaxDelaySeconds 20: waits 4, 12, 20, 20."""
    retry = {"ErrorEquals": ["E"], "IntervalSeconds": 4, "BackoffRate": 3, "MaxDelaySeconds": 20, "MaxAttempts": 4}
    interpreter = machine({"T": task(Retry=[retry])})
    step = interpreter.start("e", {}, at(0))
    waits = []
    for _ in range(4):
        step = fail(interpreter, step, "E", 0)
        waits.append(step.events[0].details["retryDelaySeconds"])
        step = interpreter.wake(step.execution, due(step.execution))
    assert waits == [4.0, 12.0, 20.0, 20.0]


def test_full_jitter_stays_between_zero_and_the_capped_delay_and_follows_the_seeded_rng() -> None:
    """JitterStrategy FULL: each wait is uniform(0, capped delay) drawn from the injected rng, reproducibly."""
    retrier = Retrier(ErrorMatcher.of(["E"]), interval_seconds=10, max_attempts=5, backoff_rate=2.0,
                      max_delay_seconds=30, jitter="FULL")
    first = [backoff_seconds(retrier, n, random.Random(42)) for n in range(1, 6)]
    again = [backoff_seconds(retrier, n, random.Random(42)) for n in range(1, 6)]
    caps = [10.0, 20.0, 30.0, 30.0, 30.0]
    assert first == again
    assert all(0.0 <= wait <= cap for wait, cap in zip(first, caps, strict=True))
    assert first != caps
    expected = random.Random(42).uniform(0.0, 10.0)
    assert first[0] == expected


def test_full_jitter_in_a_running_execution_uses_the_interpreter_rng() -> None:
    """Two interpreters with equally seeded rngs schedule the jittered retry at the same moment, below the cap."""
    retry = {"ErrorEquals": ["E"], "IntervalSeconds": 8, "JitterStrategy": "FULL"}
    wakes = []
    for _ in range(2):
        interpreter = machine({"T": task(Retry=[retry])})
        step = fail(interpreter, interpreter.start("e", {}, at(0)), "E", 0)
        wakes.append(due(step.execution))
    assert wakes[0] == wakes[1]
    assert at(0) <= wakes[0] <= at(8)


def test_each_retrier_keeps_its_own_count_and_an_exhausted_one_goes_to_catch() -> None:
    """The spec's example: ErrorA, ErrorB, ErrorC wait 1, 2, 5 s; the next ErrorB finds its retrier spent -> Catch."""
    retry = [
        {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
    ]
    interpreter = machine(
        {"X": task(Retry=retry, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Z"}], Next="Y"),
         "Y": {"Type": "Succeed"}, "Z": {"Type": "Pass", "End": True}}
    )
    step = interpreter.start("e", {}, at(0))
    waits = []
    for error in ("ErrorA", "ErrorB", "ErrorC"):
        step = fail(interpreter, step, error, 0)
        waits.append(step.events[0].details["retryDelaySeconds"])
        assert step.execution.retry_counts == ((1, 0), (2, 0), (2, 1))[len(waits) - 1]
        step = interpreter.wake(step.execution, due(step.execution))
    assert waits == [1.0, 2.0, 5.0]
    step = fail(interpreter, step, "ErrorB", 20)
    assert step.events[0].details["willRetry"] is False
    assert step.events[0].details["catcherIndex"] == 0
    assert step.execution.status == "SUCCEEDED"
    assert step.execution.output == {"Error": "ErrorB", "Cause": "ErrorB happened"}


def test_an_exhausted_retrier_does_not_fall_through_to_a_later_matching_retrier() -> None:
    """Only the first retrier whose ErrorEquals matches decides; a later States.ALL retrier is not consulted."""
    retry = [{"ErrorEquals": ["E"], "MaxAttempts": 1}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    interpreter = machine({"T": task(Retry=retry)})
    step = fail(interpreter, interpreter.start("e", {}, at(0)), "E", 0)
    step = fail(interpreter, interpreter.wake(step.execution, at(1)), "E", 1)
    assert (step.execution.status, step.execution.error) == ("FAILED", "E")


def test_max_attempts_zero_never_retries_and_goes_straight_to_catch() -> None:
    """MaxAttempts 0: the matching retrier never retries, so the Catcher handles the first failure."""
    interpreter = machine(
        {"T": task(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 0}], Catch=[{"ErrorEquals": ["E"], "Next": "C"}]),
         "C": {"Type": "Succeed"}}
    )
    step = fail(interpreter, interpreter.start("e", {}, at(0)), "E", 0)
    assert step.dispatches == []
    assert [e.type for e in step.events] == ["TaskFailed", "TaskStateExited", "SucceedStateEntered",
                                             "SucceedStateExited", "ExecutionSucceeded"]


def test_every_retry_attempt_keeps_the_token_and_raises_the_attempt_number() -> None:
    """Retries of one visit share the token f'{execution}:{state}:{visit}'; attempt counts 0, 1, 2."""
    interpreter = machine({"T": task(Retry=[{"ErrorEquals": ["E"]}])})
    step = interpreter.start("exec-9", {"k": 1}, at(0))
    dispatches = list(step.dispatches)
    for _ in range(2):
        step = fail(interpreter, step, "E", 0)
        step = interpreter.wake(step.execution, due(step.execution))
        dispatches.extend(step.dispatches)
    assert {d.token for d in dispatches} == {"exec-9:T:1"}
    assert [d.attempt for d in dispatches] == [0, 1, 2]
    assert all(d.parameters == {"k": 1} for d in dispatches)


def test_retry_counts_reset_when_the_state_is_entered_again() -> None:
    """A Task re-entered through a loop starts with fresh retry counts and a new visit token."""
    states = {
        "Count": {"Type": "Pass", "Parameters": {"round.$": "States.MathAdd($.round, 1)"}, "Next": "T"},
        "T": task(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 1}], Next="Again"),
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.round", "NumericLessThan": 2, "Next": "Count"}],
                  "Default": "Done"},
        "Done": {"Type": "Succeed"},
    }
    interpreter = machine(states)
    step = interpreter.start("e", {"round": 0}, at(0))
    for visit in (1, 2):
        assert step.dispatches[0].token == f"e:T:{visit}"
        step = fail(interpreter, step, "E", 0)
        assert step.events[0].details["willRetry"] is True
        step = interpreter.wake(step.execution, due(step.execution))
        step = interpreter.task_succeeded(step.execution, step.dispatches[0].token, {"round": visit}, at(10))
    assert step.execution.status == "SUCCEEDED"


def test_history_shows_each_attempt_and_the_wait_before_it() -> None:
    """TaskFailed says whether and when it is retried; the next TaskScheduled carries the attempt and the wait."""
    interpreter = machine({"T": task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 3}])})
    step = interpreter.start("e", {}, at(0))
    failed = fail(interpreter, step, "E", 1)
    retried = interpreter.wake(failed.execution, at(4))
    assert failed.events[0].type == "TaskFailed"
    assert failed.events[0].details == {
        "resource": "svc:work", "attempt": 0, "error": "E", "cause": "E happened", "willRetry": True,
        "retrierIndex": 0, "retryCount": 1, "retryDelaySeconds": 3.0, "retryAt": "2024-01-01T00:00:04Z",
    }
    assert [e.type for e in retried.events] == ["TaskScheduled", "TaskStarted"]
    assert retried.events[0].details["attempt"] == 1
    assert retried.events[0].details["retryDelaySeconds"] == 3.0
    assert retried.events[0].timestamp == at(4)


@pytest.mark.parametrize("error", ["States.Timeout", "Custom"])
def test_task_failed_retrier_matches_everything_except_timeout(error: str) -> None:
    """A States.TaskFailed retrier retries a custom error but not States.Timeout."""
    interpreter = machine({"T": task(Retry=[{"ErrorEquals": ["States.TaskFailed"]}])})
    step = fail(interpreter, interpreter.start("e", {}, at(0)), error, 0)
    assert (step.execution.status == "RUNNING") is (error == "Custom")
    assert of_type(step.events, "TaskFailed")[0].details["willRetry"] is (error == "Custom")
