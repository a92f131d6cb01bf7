"""Execution JSON round-trips mid-run (how the Standard runtime resumes after a crash), and history event JSON."""

from __future__ import annotations

import json

from orchestration.asl import Execution, HistoryEvent

from .support import at, due, machine, roundtrip, task


def test_execution_round_trips_exactly_while_a_task_is_pending() -> None:
    """model_dump(mode="json") -> JSON text -> model_validate gives an equal Execution, and the run continues."""
    interpreter = machine({"A": task(TimeoutSeconds=30, Next="B"), "B": task()}, TimeoutSeconds=300)
    step = interpreter.start("e", {"order": {"id": 1}}, at(0))
    restored = Execution.model_validate(json.loads(json.dumps(step.execution.model_dump(mode="json"))))
    assert restored == step.execution
    token = step.dispatches[0].token
    continued = interpreter.task_succeeded(restored, token, {"charged": True}, at(1))
    direct = interpreter.task_succeeded(step.execution, token, {"charged": True}, at(1))
    assert continued.execution == direct.execution
    assert continued.events == direct.events
    assert continued.dispatches[0].state_name == "B"


def test_execution_round_trips_during_retry_backoff_and_resumes_the_retry() -> None:
    """Persisted in the middle of a backoff, the execution keeps its retry counts and retries when woken."""
    interpreter = machine({"A": task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 2, "JitterStrategy": "FULL"}])})
    step = interpreter.start("e", {}, at(0))
    failed = interpreter.task_failed(step.execution, step.dispatches[0].token, "E", "c", at(1))
    restored = roundtrip(failed.execution)
    assert restored == failed.execution
    assert (restored.retry_counts, restored.attempt, restored.wake_for) == ((1,), 1, "retry")
    retried = interpreter.wake(restored, due(restored))
    assert retried.dispatches[0].attempt == 1


def test_execution_round_trips_during_a_wait_and_after_the_end() -> None:
    """A waiting and a finished execution both survive the JSON round trip unchanged."""
    interpreter = machine({"W": {"Type": "Wait", "Seconds": 5, "Next": "P"}, "P": {"Type": "Pass", "End": True}})
    waiting = interpreter.start("e", {"n": 1.5, "s": "x", "l": [None, True]}, at(0)).execution
    assert roundtrip(waiting) == waiting
    done = interpreter.wake(roundtrip(waiting), at(5)).execution
    assert done.status == "SUCCEEDED"
    assert roundtrip(done) == done


def test_history_events_dump_in_the_aws_shape_and_load_back() -> None:
    """Events dump as {"id", "previousEventId", "timestamp", "type", "<aws>EventDetails"} and validate back."""
    interpreter = machine({"A": task(Parameters={"id.$": "$.id"})})
    step = interpreter.start("e", {"id": 7}, at(0))
    dumped = [event.model_dump(mode="json") for event in step.events]
    assert dumped[0] == {
        "id": 1, "previousEventId": 0, "timestamp": "2024-01-01T00:00:00Z", "type": "ExecutionStarted",
        "executionStartedEventDetails": {"input": {"id": 7}, "timeoutInSeconds": None},
    }
    assert dumped[1]["stateEnteredEventDetails"] == {"name": "A", "input": {"id": 7}}
    assert dumped[2]["taskScheduledEventDetails"] == {
        "resource": "svc:work", "parameters": {"id": 7}, "token": "e:A:1", "attempt": 0, "timeoutInSeconds": None,
    }
    types = [event["type"] for event in dumped]
    assert types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted"]
    assert [HistoryEvent.model_validate(event) for event in dumped] == step.events


def test_event_ids_chain_across_steps() -> None:
    """ids start at 1 and each previousEventId names the event before it, across every step."""
    interpreter = machine({"A": task(Next="B"), "B": task()})
    first = interpreter.start("e", {}, at(0))
    second = interpreter.task_succeeded(roundtrip(first.execution), first.dispatches[0].token, {}, at(1))
    events = first.events + second.events
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [e.previous_event_id for e in events] == list(range(0, len(events)))
    assert second.execution.last_event_id == len(events)
