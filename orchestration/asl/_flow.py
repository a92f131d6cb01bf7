"""Moving through states: entering each one, and the Pass, Choice, Wait, Succeed and Fail states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ._fanout import start as start_fanout
from ._jsonata_flow import JSONATA_HANDLERS, leave_jsonata_wait
from ._run import Go, Run, assigned, effective_input, fail_execution, merge_result, render, state_output
from ._task import schedule
from ._timestamps import parse_timestamp
from .errors import NO_CHOICE_MATCHED, RUNTIME, StatesError
from .intrinsics import Intrinsic
from .paths import JsonPath, PathNotFound
from .states import (
    ChoiceState,
    Dynamic,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)

RETRYING = (TaskState, ParallelState, MapState)
"""The states with Retry and Catch."""
# A definition can loop through Pass/Choice states forever without waiting; stop such a step instead of hanging.
MAX_TRANSITIONS_PER_STEP = 10_000


def continue_with(run: Run, go: Go | None) -> None:
    """Enter states one after another until the execution waits (task, timer) or ends."""
    hops = 0
    while go is not None and run.status == "RUNNING":
        if go.next is None:
            run.emit("ExecutionSucceeded", {"output": go.output})
            run.finish("SUCCEEDED", output=go.output)
            return
        hops += 1
        if hops > MAX_TRANSITIONS_PER_STEP:
            cause = f"more than {MAX_TRANSITIONS_PER_STEP} state transitions without waiting for a task or timer"
            fail_execution(run, RUNTIME, cause)
            return
        go = enter(run, go.next, go.output)


def enter(run: Run, name: str, raw_input: Any) -> Go | None:
    """Enter state `name` with `raw_input` and run it as far as it goes without waiting."""
    state = run.machine.states[name]
    run.enter_state(name, raw_input, len(state.retriers) if isinstance(state, RETRYING) else 0)
    run.emit(f"{state.type}StateEntered", {"name": name, "input": raw_input})
    if isinstance(state, TaskState):
        return schedule(run, state)
    if isinstance(state, (ParallelState, MapState)):
        return start_fanout(run, state)
    try:
        return (JSONATA_HANDLERS if state.flow.jsonata else _HANDLERS)[state.type](run, state, raw_input)
    except StatesError as exc:
        fail_execution(run, exc.error, exc.cause)
        return None


def wait_over(run: Run, state: WaitState) -> Go | None:
    """The Wait state's timer fired."""
    try:
        if state.flow.jsonata:
            return leave_jsonata_wait(run, state)
        return _leave_wait(run, state, effective_input(run, state.flow, run.state_input))
    except StatesError as exc:
        fail_execution(run, exc.error, exc.cause)
        return None


def _pass(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, PassState)
    document = effective_input(run, state.flow, raw_input)
    if state.parameters is not None:
        document = render(run, state.parameters, document)
    result = state.result if state.has_result else document
    values = assigned(run, state.flow.assign, result)
    output = state_output(run, state.flow, merge_result(state.result_path, raw_input, result))
    run.leave("Pass", state.flow.name, output, values)
    return Go(state.next, output)


def _choice(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, ChoiceState)
    document = effective_input(run, state.flow, raw_input)
    taken = next((branch for branch in state.choices if branch.rule.test(document, run.context)), None)
    target = taken.next if taken is not None else state.default
    if target is None:
        cause = f"No Choice Rule of state '{state.flow.name}' matched and it has no Default"
        raise StatesError(NO_CHOICE_MATCHED, cause, "Choices")
    # The rule taken assigns its own variables if it has an Assign, else the state's Assign applies.
    values = assigned(run, taken.assign if taken is not None and taken.assign else state.flow.assign, document)
    output = state_output(run, state.flow, document)
    run.leave("Choice", state.flow.name, output, values)
    return Go(target, output)


def _wait(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, WaitState)
    document = effective_input(run, state.flow, raw_input)
    until = _wait_until(run, state, document)
    if until <= run.now:
        return _leave_wait(run, state, document)
    run.timer_at = until
    return None


def _leave_wait(run: Run, state: WaitState, document: Any) -> Go:
    values = assigned(run, state.flow.assign, document)
    output = state_output(run, state.flow, document)
    run.leave("Wait", state.flow.name, output, values)
    return Go(state.next, output)


def _wait_until(run: Run, state: WaitState, document: Any) -> datetime:
    if state.seconds is not None:
        return run.now + timedelta(seconds=state.seconds)
    if state.timestamp is not None:
        return state.timestamp
    if state.seconds_path is not None:
        seconds = _read(run, state.seconds_path, document, "SecondsPath")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            cause = f"SecondsPath '{state.seconds_path.text}' must select a non-negative integer, got {seconds!r}"
            raise StatesError(RUNTIME, cause, "SecondsPath")
        return run.now + timedelta(seconds=seconds)
    assert state.timestamp_path is not None
    text = _read(run, state.timestamp_path, document, "TimestampPath")
    timestamp = parse_timestamp(text)
    if timestamp is None:
        cause = f"TimestampPath '{state.timestamp_path.text}' must select an RFC 3339 timestamp, got {text!r}"
        raise StatesError(RUNTIME, cause, "TimestampPath")
    return timestamp


def _read(run: Run, path: JsonPath, document: Any, field_name: str) -> Any:
    try:
        return path.read(document, run.context)
    except PathNotFound:
        raise StatesError(RUNTIME, f"{field_name} '{path.text}' selects nothing in the input", field_name) from None


def _succeed(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, SucceedState)
    output = state_output(run, state.flow, effective_input(run, state.flow, raw_input))
    run.leave("Succeed", state.flow.name, output)
    return Go(None, output)


def _fail(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, FailState)
    error = state.error if state.error_path is None else _text(run, state.error_path, raw_input, "ErrorPath")
    cause = state.cause if state.cause_path is None else _text(run, state.cause_path, raw_input, "CausePath")
    fail_execution(run, error, cause)
    return None


def _text(run: Run, source: Dynamic, raw_input: Any, field_name: str) -> str:
    if isinstance(source, JsonPath):
        value = _read(run, source, raw_input, field_name)
    else:
        assert isinstance(source, Intrinsic), "a JSONata Fail state is run by _jsonata_flow"
        value = source.evaluate(raw_input, run.context, run.rng)
    if not isinstance(value, str):
        raise StatesError(RUNTIME, f"{field_name} must produce a string, got {value!r}", field_name)
    return value


_HANDLERS: dict[str, Callable[[Run, State, Any], Go | None]] = {
    "Pass": _pass,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
}
