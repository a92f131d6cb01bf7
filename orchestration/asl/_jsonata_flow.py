"""JSONata states: the Task's Arguments and Output (and a Catcher's), and the Pass, Choice, Wait, Succeed and Fail
states of a JSONata state. Every expression sees `$states.input` (the state's raw input), `$states.context` and the
variables as they were when the state was entered; `$states.result` and `$states.errorOutput` where they exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ._run import Go, Run, fail_execution
from ._timestamps import parse_timestamp
from .errors import NO_CHOICE_MATCHED, QUERY_EVALUATION_ERROR, StatesError
from .jsonata import Expression, Scope, Value
from .retry import Catcher
from .states import ChoiceState, FailState, Flow, PassState, State, SucceedState, TaskState, WaitState


def jsonata_task_input(run: Run, state: TaskState) -> tuple[Any, int | None, int | None]:
    """What the task is sent (Arguments, else the state's input), its timeout and its heartbeat interval."""
    scope = run.jsonata_scope(run.state_input)
    arguments = state.arguments.evaluate(scope) if state.arguments is not None else run.state_input
    timeout = state.timeout_seconds
    if state.timeout_expression is not None:
        timeout = _integer(state.timeout_expression, scope, least=1)
    heartbeat = state.heartbeat_seconds
    if state.heartbeat_expression is not None:
        heartbeat = _integer(state.heartbeat_expression, scope, least=1)
    if heartbeat is not None and timeout is not None and heartbeat >= timeout:
        cause = f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})"
        raise StatesError(QUERY_EVALUATION_ERROR, cause, "HeartbeatSeconds")
    return arguments, timeout, heartbeat


def jsonata_task_output(run: Run, flow: Flow, result: Any) -> tuple[Any, dict[str, Any]]:
    """The state's output (Output, else the result) and what it assigns, both with `$states.result`."""
    return _output_and_assigned(run.jsonata_scope(run.state_input, result=result), flow.output, flow, result)


def jsonata_catch_output(run: Run, catcher: Catcher, error_output: Any) -> tuple[Any, dict[str, Any]]:
    """A Catcher's output (its Output, else the error output) and what it assigns, with `$states.errorOutput`."""
    scope = run.jsonata_scope(run.state_input, errorOutput=error_output)
    values = catcher.assign.with_jsonata(scope) if catcher.assign is not None else {}
    output = catcher.output.evaluate(scope) if catcher.output is not None else error_output
    return output, values


def _output_and_assigned(scope: Scope, output: Value | None, flow: Flow, default: Any) -> tuple[Any, dict[str, Any]]:
    values = flow.assign.with_jsonata(scope) if flow.assign is not None else {}
    return (output.evaluate(scope) if output is not None else default), values


def _pass(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, PassState)
    output, values = _output_and_assigned(run.jsonata_scope(raw_input), state.flow.output, state.flow, raw_input)
    run.leave("Pass", state.flow.name, output, values)
    return Go(state.next, output)


def _choice(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, ChoiceState)
    taken = next((branch for branch in state.choices if branch.rule.test(raw_input, run.context)), None)
    target = taken.next if taken is not None else state.default
    if target is None:
        cause = f"No Choice Rule of state '{state.flow.name}' matched and it has no Default"
        raise StatesError(NO_CHOICE_MATCHED, cause, "Choices")
    scope = run.jsonata_scope(raw_input)
    # The rule taken assigns and outputs with its own fields where it has them, else with the state's.
    assign = taken.assign if taken is not None and taken.assign is not None else state.flow.assign
    output_value = taken.output if taken is not None and taken.output is not None else state.flow.output
    values = assign.with_jsonata(scope) if assign is not None else {}
    output = output_value.evaluate(scope) if output_value is not None else raw_input
    run.leave("Choice", state.flow.name, output, values)
    return Go(target, output)


def _wait(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, WaitState)
    until = _wait_until(run, state, run.jsonata_scope(raw_input))
    if until <= run.now:
        return leave_jsonata_wait(run, state)
    run.timer_at = until
    return None


def leave_jsonata_wait(run: Run, state: WaitState) -> Go:
    """The Wait is over: its Output and Assign see the input it was entered with."""
    output, values = _output_and_assigned(run.jsonata_scope(run.state_input), state.flow.output, state.flow, run.state_input)
    run.leave("Wait", state.flow.name, output, values)
    return Go(state.next, output)


def _wait_until(run: Run, state: WaitState, scope: Scope) -> datetime:
    if state.seconds_expression is not None:
        return run.now + timedelta(seconds=_integer(state.seconds_expression, scope, least=0))
    if state.timestamp_expression is not None:
        text = state.timestamp_expression.evaluate(scope)
        timestamp = parse_timestamp(text)
        if timestamp is None:
            text_of = state.timestamp_expression.text
            cause = f"The Timestamp expression '{text_of}' must give an RFC 3339 timestamp, got {text!r}"
            raise StatesError(QUERY_EVALUATION_ERROR, cause, "Timestamp")
        return timestamp
    if state.timestamp is not None:
        return state.timestamp
    return run.now + timedelta(seconds=state.seconds or 0)


def _integer(expression: Expression, scope: Scope, least: int) -> int:
    value = expression.evaluate(scope)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        where = f"The expression '{expression.text}' of field '{expression.field}'"
        cause = f"{where} must give an integer of at least {least}, got {value!r}"
        raise StatesError(QUERY_EVALUATION_ERROR, cause, expression.field)
    return value


def _succeed(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, SucceedState)
    output = state.flow.output.evaluate(run.jsonata_scope(raw_input)) if state.flow.output is not None else raw_input
    run.leave("Succeed", state.flow.name, output)
    return Go(None, output)


def _fail(run: Run, state: State, raw_input: Any) -> Go | None:
    assert isinstance(state, FailState)
    scope = run.jsonata_scope(raw_input)
    error = _text(state.error_path, scope) if isinstance(state.error_path, Expression) else state.error
    cause = _text(state.cause_path, scope) if isinstance(state.cause_path, Expression) else state.cause
    fail_execution(run, error, cause)
    return None


def _text(expression: Expression, scope: Scope) -> str:
    value = expression.evaluate(scope)
    if not isinstance(value, str):
        cause = f"The expression '{expression.text}' of field '{expression.field}' must give a string, got {value!r}"
        raise StatesError(QUERY_EVALUATION_ERROR, cause, expression.field)
    return value


JSONATA_HANDLERS: dict[str, Callable[[Run, State, Any], Go | None]] = {
    "Pass": _pass,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
}
