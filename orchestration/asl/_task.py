"""Task states: scheduling an attempt, taking its result or error, and Retry/Catch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ._fast import build
from ._jsonata_flow import jsonata_catch_output, jsonata_task_input, jsonata_task_output
from ._run import Go, Run, assigned, effective_input, fail_execution, merge_result, render, state_output
from ._task_kinds import kind_of
from ._timestamps import format_timestamp
from .errors import HEARTBEAT_TIMEOUT, RUNTIME, TIMEOUT, StatesError, is_catchable
from .execution import PendingTask, TaskDispatch
from .paths import JsonPath, PathNotFound
from .retry import backoff_seconds, find_catcher, find_retrier
from .states import FanoutState, TaskState


def schedule(run: Run, state: TaskState) -> Go | None:
    """Start the current attempt: InputPath, Parameters, then one TaskDispatch for the runtime."""
    try:
        if state.flow.jsonata:
            parameters, timeout, heartbeat = jsonata_task_input(run, state)
        else:
            task_input = effective_input(run, state.flow, run.state_input)
            parameters = render(run, state.parameters, task_input) if state.parameters is not None else task_input
            timeout = state.timeout_seconds or _timeout_from_path(run, state, task_input)
            heartbeat = state.heartbeat_seconds or _seconds_from_path(
                run, state.heartbeat_seconds_path, task_input, "HeartbeatSecondsPath"
            )
    except StatesError as exc:
        return handle_error(run, state, exc.error, exc.cause, "EvaluationFailed", _evaluation_details(run, state, exc))
    timeout_at = run.now + timedelta(seconds=timeout) if timeout else None
    token = run.token()
    dispatch = {
        "token": token,
        "state_name": state.flow.name,
        "resource": state.resource,
        "parameters": parameters,
        "attempt": run.attempt,
        "timeout_at": timeout_at,
    }
    heartbeat_at = run.now + timedelta(seconds=heartbeat) if heartbeat else None
    pending = {**dispatch, "scheduled_at": run.now, "heartbeat_seconds": heartbeat, "heartbeat_at": heartbeat_at}
    run.pending = build(PendingTask, pending)
    run.timer_at = None
    run.dispatches.append(build(TaskDispatch, dispatch))
    kind = kind_of(state.resource)
    scheduled: dict[str, Any] = {
        **kind.names,
        kind.input_key: parameters,
        "token": token,
        "attempt": run.attempt,
        "timeoutInSeconds": timeout,
    }
    if heartbeat:
        scheduled["heartbeatInSeconds"] = heartbeat
    if run.attempt:
        scheduled["retryDelaySeconds"] = run.retry_delay_seconds
    run.emit(f"{kind.prefix}Scheduled", scheduled)
    run.emit(f"{kind.prefix}Started", {**kind.names, "attempt": run.attempt})
    if kind.waits_for_token:
        run.emit("TaskSubmitted", {**kind.names, "output": {"TaskToken": token}, "attempt": run.attempt})
    return None


def _timeout_from_path(run: Run, state: TaskState, task_input: Any) -> int | None:
    return _seconds_from_path(run, state.timeout_seconds_path, task_input, "TimeoutSecondsPath")


def _seconds_from_path(run: Run, path: JsonPath | None, task_input: Any, field_name: str) -> int | None:
    if path is None:
        return None
    try:
        value = path.read(task_input, run.context)
    except PathNotFound:
        raise StatesError(RUNTIME, f"{field_name} '{path.text}' selects nothing", field_name) from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        cause = f"{field_name} '{path.text}' must select a positive integer, got {value!r}"
        raise StatesError(RUNTIME, cause, field_name)
    return value


def succeeded(run: Run, state: TaskState, result: Any) -> Go | None:
    """The pending attempt returned `result`: ResultSelector, ResultPath, OutputPath, then leave the state."""
    run.pending = None
    kind = kind_of(state.resource)
    run.emit(f"{kind.prefix}Succeeded", {**kind.names, "output": result, "attempt": run.attempt})
    try:
        if state.flow.jsonata:
            output, values = jsonata_task_output(run, state.flow, result)
        else:
            selected = render(run, state.result_selector, result) if state.result_selector is not None else result
            values = assigned(run, state.flow.assign, selected)
            merged = merge_result(state.result_path, run.state_input, selected)
            output = state_output(run, state.flow, merged)
    except StatesError as exc:
        return handle_error(run, state, exc.error, exc.cause, "EvaluationFailed", _evaluation_details(run, state, exc))
    run.leave("Task", state.flow.name, output, values)
    return Go(state.next, output)


def failed(run: Run, state: TaskState, error: str, cause: str) -> Go | None:
    """The pending attempt reported an error."""
    run.pending = None
    kind = kind_of(state.resource)
    return handle_error(run, state, error, cause, f"{kind.prefix}Failed", {**kind.names, "attempt": run.attempt})


def timed_out(run: Run, state: TaskState) -> Go | None:
    """The pending attempt ran past its TimeoutSeconds (States.Timeout) or went HeartbeatSeconds without a
    heartbeat (States.HeartbeatTimeout); Retry/Catch may handle either."""
    pending = run.pending
    run.pending = None
    kind = kind_of(state.resource)
    details = {**kind.names, "attempt": run.attempt}
    if pending is not None and pending.heartbeat_at is not None and pending.due_at() == pending.heartbeat_at:
        cause = f"Task sent no heartbeat within {pending.heartbeat_seconds} seconds"
        return handle_error(run, state, HEARTBEAT_TIMEOUT, cause, f"{kind.prefix}TimedOut", details)
    seconds = (pending.timeout_at - pending.scheduled_at).total_seconds() if pending and pending.timeout_at else 0
    cause = f"Task did not complete within {seconds:g} seconds"
    return handle_error(run, state, TIMEOUT, cause, f"{kind.prefix}TimedOut", details)


def heartbeat(run: Run, state: TaskState) -> Go | None:
    """The pending attempt's participant is alive: its HeartbeatSeconds start again (no history event, as in
    Step Functions)."""
    pending = run.pending
    if pending is not None and pending.heartbeat_seconds:
        beat = run.now + timedelta(seconds=pending.heartbeat_seconds)
        run.pending = pending.model_copy(update={"heartbeat_at": beat})
    return None


def _evaluation_details(run: Run, state: TaskState, exc: StatesError) -> dict[str, Any]:
    return {"state": state.flow.name, "location": exc.location, "attempt": run.attempt}


def handle_error(
    run: Run, state: TaskState | FanoutState, error: str, cause: str, event_type: str, details: dict[str, Any]
) -> Go | None:
    """Retry (first matching retrier decides), else Catch (first matching catcher), else fail the execution.

    The event of type `event_type` records the error and what happens next, so a reader sees each retry and its wait.
    """
    details = {**details, "error": error, "cause": cause, "willRetry": False}
    index = find_retrier(state.retriers, error) if is_catchable(error) else None
    if index is not None and run.retry_counts[index] < state.retriers[index].max_attempts:
        _plan_retry(run, state, index, details)
        run.emit(event_type, details)
        return None
    catcher_index = find_catcher(state.catchers, error) if is_catchable(error) else None
    if catcher_index is None:
        run.emit(event_type, details)
        fail_execution(run, error, cause)
        return None
    catcher = state.catchers[catcher_index]
    run.emit(event_type, {**details, "catcherIndex": catcher_index, "next": catcher.next})
    try:
        error_output = {"Error": error, "Cause": cause}
        if state.flow.jsonata:
            output, values = jsonata_catch_output(run, catcher, error_output)
        else:
            values = assigned(run, catcher.assign, error_output)
            output = merge_result(catcher.result_path, run.state_input, error_output, "Catch.ResultPath")
    except StatesError as exc:
        fail_execution(run, exc.error, exc.cause)
        return None
    run.leave(state.type, state.flow.name, output, values)
    return Go(catcher.next, output)


def _plan_retry(run: Run, state: TaskState | FanoutState, index: int, details: dict[str, Any]) -> None:
    count = run.retry_counts[index] + 1
    delay = backoff_seconds(state.retriers[index], count, run.rng)
    run.retry_counts = run.retry_counts[:index] + (count,) + run.retry_counts[index + 1 :]
    run.attempt += 1
    run.retry_delay_seconds = delay
    run.pending = None
    run.timer_at = run.now + timedelta(seconds=delay)
    details.update(
        willRetry=True,
        retrierIndex=index,
        retryCount=count,
        retryDelaySeconds=delay,
        retryAt=format_timestamp(run.timer_at),
    )
