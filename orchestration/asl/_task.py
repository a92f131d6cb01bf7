"""Task states: scheduling an attempt, taking its result or error, and Retry/Catch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ._fast import build
from ._jsonata_flow import jsonata_catch_output, jsonata_task_input, jsonata_task_output
from ._run import Go, Run, assigned, effective_input, fail_execution, merge_result, render, state_output
from ._timestamps import format_timestamp
from .errors import RUNTIME, TIMEOUT, StatesError, is_catchable
from .execution import PendingTask, TaskDispatch
from .paths import PathNotFound
from .retry import backoff_seconds, find_catcher, find_retrier
from .states import TaskState


def schedule(run: Run, state: TaskState) -> Go | None:
    """Start the current attempt: InputPath, Parameters, then one TaskDispatch for the runtime."""
    try:
        if state.flow.jsonata:
            parameters, timeout = jsonata_task_input(run, state)
        else:
            task_input = effective_input(run, state.flow, run.state_input)
            parameters = render(run, state.parameters, task_input) if state.parameters is not None else task_input
            timeout = state.timeout_seconds or _timeout_from_path(run, state, task_input)
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
    run.pending = build(PendingTask, {**dispatch, "scheduled_at": run.now})
    run.timer_at = None
    run.dispatches.append(build(TaskDispatch, dispatch))
    scheduled: dict[str, Any] = {
        "resource": state.resource,
        "parameters": parameters,
        "token": token,
        "attempt": run.attempt,
        "timeoutInSeconds": timeout,
    }
    if run.attempt:
        scheduled["retryDelaySeconds"] = run.retry_delay_seconds
    run.emit("TaskScheduled", scheduled)
    run.emit("TaskStarted", {"resource": state.resource, "attempt": run.attempt})
    return None


def _timeout_from_path(run: Run, state: TaskState, task_input: Any) -> int | None:
    path = state.timeout_seconds_path
    if path is None:
        return None
    try:
        value = path.read(task_input, run.context)
    except PathNotFound:
        raise StatesError(RUNTIME, f"TimeoutSecondsPath '{path.text}' selects nothing", "TimeoutSecondsPath") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        cause = f"TimeoutSecondsPath '{path.text}' must select a positive integer, got {value!r}"
        raise StatesError(RUNTIME, cause, "TimeoutSecondsPath")
    return value


def succeeded(run: Run, state: TaskState, result: Any) -> Go | None:
    """The pending attempt returned `result`: ResultSelector, ResultPath, OutputPath, then leave the state."""
    run.pending = None
    run.emit("TaskSucceeded", {"resource": state.resource, "output": result, "attempt": run.attempt})
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
    details = {"resource": state.resource, "attempt": run.attempt}
    return handle_error(run, state, error, cause, "TaskFailed", details)


def timed_out(run: Run, state: TaskState) -> Go | None:
    """The pending attempt ran past its TimeoutSeconds: States.Timeout, which Retry/Catch may handle."""
    pending = run.pending
    seconds = (pending.timeout_at - pending.scheduled_at).total_seconds() if pending and pending.timeout_at else 0
    run.pending = None
    details = {"resource": state.resource, "attempt": run.attempt}
    cause = f"Task did not complete within {seconds:g} seconds"
    return handle_error(run, state, TIMEOUT, cause, "TaskTimedOut", details)


def _evaluation_details(run: Run, state: TaskState, exc: StatesError) -> dict[str, Any]:
    return {"state": state.flow.name, "location": exc.location, "attempt": run.attempt}


def handle_error(
    run: Run, state: TaskState, error: str, cause: str, event_type: str, details: dict[str, Any]
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
    run.leave("Task", state.flow.name, output, values)
    return Go(catcher.next, output)


def _plan_retry(run: Run, state: TaskState, index: int, details: dict[str, Any]) -> None:
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
