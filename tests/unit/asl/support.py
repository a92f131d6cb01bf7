"""Test helpers: a fixed clock, tiny definitions, and a driver that plays fake participants against the interpreter."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestration.asl import Execution, HistoryEvent, Interpreter, Step, TaskDispatch, load_definition

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
NO_REPLY = object()

_PUBLISHED = Path(__file__).resolve().parents[4] / "shared" / "asl-samples"
SAMPLES_FOLDER = (
    _PUBLISHED
    if _PUBLISHED.is_dir()
    else Path(__file__).resolve().parents[3] / "orchestration" / "samples" / "definitions"
)
"""The public samples as published beside the repo (../shared/asl-samples); where that folder is absent (a
container, a clone elsewhere) the packaged copies, which tests/unit/test_sample_functions.py checks are
byte-identical wherever both exist."""


def at(seconds: float) -> datetime:
    """The injected clock: T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def task(resource: str = "svc:work", **fields: Any) -> dict[str, Any]:
    """A Task state definition ending the execution unless `Next` is given."""
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, **fields}
    if "Next" not in state:
        state["End"] = True
    return state


def machine(states: dict[str, Any], start_at: str | None = None, **top: Any) -> Interpreter:
    """An interpreter for a small definition (StartAt defaults to the first state); seeded rng."""
    import random

    definition = {"StartAt": start_at or next(iter(states)), "States": states, **top}
    return Interpreter(load_definition(definition), random.Random(7))


def entered(events: list[HistoryEvent]) -> list[str]:
    """The names of the states entered, in order."""
    return [event.details["name"] for event in events if event.type.endswith("StateEntered")]


def of_type(events: list[HistoryEvent], event_type: str) -> list[HistoryEvent]:
    return [event for event in events if event.type == event_type]


def due(execution: Execution) -> datetime:
    """The moment the runtime would call wake for this execution."""
    assert execution.wake_at is not None, "no timer is set"
    return execution.wake_at


def roundtrip(execution: Execution) -> Execution:
    """What the Standard runtime does between steps: persist as JSON and load again."""
    return Execution.model_validate(execution.model_dump(mode="json"))


class ParticipantError(Exception):
    """A fake participant's failure: an error name and a cause."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


Participant = Callable[[str, Any], Any]


def invoke(resource: str, parameters: Any, participant: Participant) -> Any:
    """What the runtime does with a dispatch: lambda:invoke wraps the function result, sns:publish gives a MessageId."""
    if resource == LAMBDA_INVOKE:
        payload = participant(parameters["FunctionName"], parameters.get("Payload"))
        if payload is NO_REPLY:
            return NO_REPLY
        return {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
    if resource == SNS_PUBLISH:
        return {"MessageId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(parameters)))}
    return participant(resource, parameters)


@dataclass
class Run:
    """The whole story of one driven execution."""

    execution: Execution
    events: list[HistoryEvent] = field(default_factory=list)
    dispatches: list[TaskDispatch] = field(default_factory=list)
    now: datetime = T0

    @property
    def path(self) -> list[str]:
        return entered(self.events)


def drive(
    interpreter: Interpreter,
    input: Any,
    participant: Participant,
    *,
    task_seconds: float = 0.0,
    persist: bool = True,
    execution_id: str = "exec-1",
    max_steps: int = 500,
) -> Run:
    """Run an execution to its end: answer each dispatch after `task_seconds`, or fire the timer due before that."""
    step = interpreter.start(execution_id, input, T0)
    run = Run(step.execution)
    queue: list[TaskDispatch] = []
    for _ in range(max_steps):
        _absorb(run, step, queue)
        if run.execution.status != "RUNNING":
            return run
        execution = roundtrip(run.execution) if persist else run.execution
        step = _next_step(interpreter, execution, run, queue, participant, task_seconds)
    raise AssertionError(f"execution still running after {max_steps} steps: {run.path}")


def _absorb(run: Run, step: Step, queue: list[TaskDispatch]) -> None:
    if step.ignored is not None:
        return
    run.execution = step.execution
    run.events.extend(step.events)
    run.dispatches.extend(step.dispatches)
    queue.extend(step.dispatches)


def _next_step(
    interpreter: Interpreter,
    execution: Execution,
    run: Run,
    queue: list[TaskDispatch],
    participant: Participant,
    task_seconds: float,
) -> Step:
    while queue:
        reply_at = run.now + timedelta(seconds=task_seconds)
        if execution.wake_at is not None and execution.wake_at <= reply_at:
            break  # a timer fires before the participant would answer
        dispatch = queue.pop(0)
        try:
            output = invoke(dispatch.resource, dispatch.parameters, participant)
        except ParticipantError as exc:
            run.now = reply_at
            return interpreter.task_failed(execution, dispatch.token, exc.error, exc.cause, reply_at)
        if output is not NO_REPLY:
            run.now = reply_at
            return interpreter.task_succeeded(execution, dispatch.token, output, reply_at)
    assert execution.wake_at is not None, "nothing in flight and no timer: the execution is stuck"
    run.now = execution.wake_at
    return interpreter.wake(execution, run.now)
