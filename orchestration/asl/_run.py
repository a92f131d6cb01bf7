"""The working copy of an Execution during one step, plus the data-flow helpers every state uses."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ._fast import build
from ._timestamps import format_timestamp
from ._variables import Assignment
from .errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, StatesError
from .execution import Execution, Fanout, PendingTask, Status, Step, TaskDispatch, WakeReason
from .history import Recorder
from .jsonata import Scope, states_of
from .paths import JsonPath, PathNotFound, ResultPath, ResultPathMismatch
from .states import Flow, StateMachine, TaskState, WaitState
from .templates import Template

Reply = Callable[["Run", TaskState], "Go | None"]
"""What to do with a task's reply, once the state it answers is known."""


class Children(Protocol):
    """Steps the sub-executions of Parallel and Map states (the interpreter, handed to each Run)."""

    def start(self, machine: StateMachine, parent: Run, scope: str, input: Any) -> Step: ...
    def reply(self, machine: StateMachine, child: Execution, token: str, attempt: int | None, now: datetime,
              handle: Reply) -> Step: ...  # fmt: skip
    def wake(self, machine: StateMachine, child: Execution, now: datetime) -> Step: ...


@dataclass(frozen=True, slots=True)
class Go:
    """Leave the current state for `next` (None: the execution ends successfully) with `output`."""

    next: str | None
    output: Any


@dataclass(slots=True)
class Run:
    """Mutable while one step runs; `step()` freezes it into the next Execution."""

    machine: StateMachine
    rng: random.Random
    now: datetime
    recorder: Recorder
    execution_id: str
    status: Status
    state_name: str | None
    pending: PendingTask | None
    output: Any
    error: str | None
    cause: str | None
    started_at: datetime
    finished_at: datetime | None
    deadline: datetime | None
    timer_at: datetime | None
    state_input: Any
    state_entered_at: datetime | None
    attempt: int
    retry_delay_seconds: float | None
    retry_counts: tuple[int, ...]
    visits: dict[str, int]
    execution_input: Any
    scope: str
    fanout: Fanout | None
    variables: dict[str, Any]
    dispatches: list[TaskDispatch] = field(default_factory=list)
    children: Children | None = None

    @classmethod
    def resume(
        cls, machine: StateMachine, rng: random.Random, execution: Execution, now: datetime,
        children: Children | None = None,
    ) -> Run:  # fmt: skip
        fields = {name: getattr(execution, name) for name in _CARRIED}
        recorder = Recorder(execution.last_event_id, now)
        return cls(machine=machine, rng=rng, now=now, recorder=recorder, children=children, **fields)

    def step(self) -> Step:
        wake_at, wake_for = self._next_wake()
        fields = {name: getattr(self, name) for name in _CARRIED}
        fields.update(wake_at=wake_at, wake_for=wake_for, last_event_id=self.recorder.last_id)
        execution = build(Execution, fields)
        return Step(execution=execution, dispatches=self.dispatches, events=self.recorder.events)

    def _next_wake(self) -> tuple[datetime | None, WakeReason | None]:
        if self.status != "RUNNING":
            return None, None
        timer_reason: WakeReason = "wait" if self._in_wait_state() else "retry"
        candidates: list[tuple[datetime | None, WakeReason]] = [
            (self.deadline, "execution_timeout"),
            (self.pending.timeout_at if self.pending is not None else None, "task_timeout"),
            (self.pending.heartbeat_at if self.pending is not None else None, "heartbeat_timeout"),
            (self.timer_at, timer_reason),
        ]
        if self.fanout is not None:
            candidates.extend((child.wake_at, child.wake_for or "task_timeout") for child in self.fanout.running())
        due = [(when, reason) for when, reason in candidates if when is not None]
        if not due:
            return None, None
        return min(due, key=lambda item: item[0])

    def _in_wait_state(self) -> bool:
        return self.state_name is not None and isinstance(self.machine.states[self.state_name], WaitState)

    def emit(self, event_type: str, details: dict[str, Any]) -> None:
        self.recorder.emit(event_type, details)

    def enter_state(self, name: str, raw_input: Any, retriers: int) -> None:
        self.visits = {**self.visits, name: self.visits.get(name, 0) + 1}
        self.state_name = name
        self.state_input = raw_input
        self.state_entered_at = self.now
        self.pending = None
        self.fanout = None
        self.timer_at = None
        self.attempt = 0
        self.retry_delay_seconds = None
        self.retry_counts = (0,) * retriers

    def token(self) -> str:
        """The task token of the current visit: the same for every retry attempt of that visit."""
        name = self.state_name or ""
        return f"{self.execution_id}:{self.scope}{name}:{self.visits.get(name, 0)}"

    @property
    def context(self) -> RunContext:
        """Called, the `$$` context object; it also carries the variables, and the JSONata scope (`$states`)."""
        return RunContext(self)

    def jsonata_scope(self, input: Any, **more: Any) -> Scope:
        """What a JSONata expression of the current state sees: `$states` (input, context, and `more`:
        result or errorOutput) and the variables."""
        return Scope(states_of(input, self.context_object(), **more), self.variables, self.rng, self.now)

    def leave(self, kind: str, name: str, output: Any, assigned: dict[str, Any] | None = None) -> None:
        """Record `{kind}StateExited`; the variables the state assigned (computed from the values it saw on entry,
        as its Output was) take effect now."""
        details: dict[str, Any] = {"name": name, "output": output}
        if assigned:
            details["assignedVariables"] = assigned
            self.variables = {**self.variables, **assigned}
        self.emit(f"{kind}StateExited", details)

    def context_object(self) -> dict[str, Any]:
        """The `$$` context object."""
        entered = format_timestamp(self.state_entered_at) if self.state_entered_at is not None else None
        return {
            "Execution": {
                "Id": self.execution_id,
                "Name": self.execution_id,
                "StartTime": format_timestamp(self.started_at),
                "Input": self.execution_input,
            },
            "State": {"Name": self.state_name, "EnteredTime": entered, "RetryCount": self.attempt},
            "Task": {"Token": self.token()},
        }

    def finish(self, status: Status, *, output: Any = None, error: str | None = None, cause: str | None = None) -> None:
        self.status = status
        self.output = output
        self.error = error
        self.cause = cause
        self.finished_at = self.now
        self.pending = None
        self.fanout = None  # a Parallel's or Map's unfinished branches are cancelled with it
        self.timer_at = None


class RunContext:
    """The context source handed to paths, templates and rules: `$$` when called, `$name` from `variables`."""

    __slots__ = ("run",)

    def __init__(self, run: Run) -> None:
        self.run = run

    def __call__(self) -> dict[str, Any]:
        return self.run.context_object()

    @property
    def variables(self) -> dict[str, Any]:
        return self.run.variables

    def scope(self, input: Any, **more: Any) -> Scope:
        return self.run.jsonata_scope(input, **more)


_CARRIED = (
    "execution_id", "status", "state_name", "pending", "output", "error", "cause", "started_at", "finished_at",
    "deadline", "timer_at", "state_input", "state_entered_at", "attempt", "retry_delay_seconds", "retry_counts",
    "visits", "execution_input", "scope", "fanout", "variables",
)


def assigned(run: Run, assignment: Assignment | None, document: Any) -> dict[str, Any]:
    """A JSONPath Assign's new values, `$` being `document`."""
    return assignment.with_jsonpath(document, run.context, run.rng) if assignment is not None else {}


def effective_input(run: Run, flow: Flow, raw_input: Any) -> Any:
    """InputPath applied to the raw input (JSON null InputPath: `{}`)."""
    return _select(run, flow.input_path, raw_input, "InputPath")


def state_output(run: Run, flow: Flow, document: Any) -> Any:
    """OutputPath applied to what the state produced (JSON null OutputPath: `{}`)."""
    return _select(run, flow.output_path, document, "OutputPath")


def _select(run: Run, path: JsonPath | None, document: Any, field_name: str) -> Any:
    if path is None:
        return {}
    try:
        return path.read(document, run.context)
    except PathNotFound:
        cause = f"Invalid path '{path.text}': the {field_name} selects nothing in the state's data"
        raise StatesError(RUNTIME, cause, field_name) from None


def render(run: Run, template: Template, document: Any) -> Any:
    """A Parameters/ResultSelector template filled from `document`."""
    return template.render(document, run.context, run.rng)


def merge_result(result_path: ResultPath, raw_input: Any, result: Any, field_name: str = "ResultPath") -> Any:
    """ResultPath applied: the result placed into the state's raw input."""
    try:
        return result_path.apply(raw_input, result)
    except ResultPathMismatch as exc:
        raise StatesError(RESULT_PATH_MATCH_FAILURE, f"Unable to apply {field_name} {exc}", field_name) from None


def fail_execution(run: Run, error: str | None, cause: str | None) -> None:
    """End the execution as FAILED."""
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    run.emit("ExecutionFailed", details)
    run.finish("FAILED", error=error, cause=cause)
