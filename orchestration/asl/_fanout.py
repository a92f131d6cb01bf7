"""Parallel and Map states: their branches / iterations run as sub-executions stepped inside the parent's steps.

A sub-execution is an Execution of the branch's (or item processor's) states, sharing the parent's id, start
time and input (so `$$` reads the same), starting with the parent's variables (an inner scope reads the outer
ones; what it assigns is its own and is dropped with it), and a `scope` that makes its task tokens unique. Its
history events are
numbered into the parent's history, between `{Parallel,Map}StateStarted` and `{Parallel,Map}StateSucceeded`/
`Failed`; a Map adds `MapIterationStarted/Succeeded/Failed/Aborted`. A failing branch cancels the others (their
tasks' replies then find no pending task); the state's Retry and Catch apply to the whole Parallel or Map.
"""

from __future__ import annotations

from ._fanout_inputs import prepare
from ._fast import build
from ._jsonata_flow import jsonata_task_output
from ._run import Go, Run, assigned, merge_result, render, state_output
from ._task import handle_error
from .errors import RUNTIME, StatesError
from .execution import Execution, Fanout, Step, awaits
from .states import FanoutState, ParallelState, StateMachine

EXCEEDED = "States.ExceedToleratedFailureThreshold"


def start(run: Run, state: FanoutState) -> Go | None:
    """Enter (or retry) the state: prepare each branch's or item's input, then start as many as allowed."""
    try:
        fanout = prepare(run, state)
    except StatesError as exc:
        details = {"state": state.flow.name, "location": exc.location, "attempt": run.attempt}
        return handle_error(run, state, exc.error, exc.cause, "EvaluationFailed", details)
    run.timer_at = None
    run.emit(f"{state.type}StateStarted", {"length": len(fanout.inputs)} if fanout.kind == "Map" else {})
    run.fanout = fanout
    return settle(run, state)


def machine_of(state: FanoutState, index: int) -> StateMachine:
    return state.branches[index] if isinstance(state, ParallelState) else state.processor


def child_index(fanout: Fanout, token: str) -> int | None:
    """Which running child awaits the task with `token`."""
    return next((index for index, child in enumerate(fanout.children) if awaits(child, token)), None)


def absorb(run: Run, state: FanoutState, index: int, step: Step) -> None:
    """Take a child's step into the parent: its events (renumbered), its dispatches, its new state."""
    fanout = run.fanout
    assert fanout is not None
    name = state.flow.name
    for event in step.events:
        if event.type == "ExecutionStarted":
            continue
        if event.type in ("ExecutionSucceeded", "ExecutionFailed"):
            if fanout.kind == "Map":
                outcome = "Succeeded" if event.type == "ExecutionSucceeded" else "Failed"
                extra = {} if outcome == "Succeeded" else dict(event.details)
                run.emit(f"MapIteration{outcome}", {"name": name, "index": index, **extra})
            continue
        run.emit(event.type, event.details)
    run.dispatches.extend(step.dispatches)
    child = step.execution
    if child.status != "RUNNING":
        child = _compact(child)
    children = list(fanout.children)
    if index == len(children):
        children.append(child)
    else:
        children[index] = child
    run.fanout = fanout.model_copy(update={"children": tuple(children)})


def settle(run: Run, state: FanoutState) -> Go | None:
    """After children moved: fail the state on a (not tolerated) failure, start waiting items, or finish."""
    assert run.children is not None, "a Run stepping Parallel or Map states needs its children's stepper"
    while run.fanout is not None:
        fanout = run.fanout
        failure = _failure(fanout)
        if failure is not None:
            return _fail(run, state, *failure)
        running = len(fanout.running())
        if len(fanout.children) < len(fanout.inputs) and (not fanout.max_concurrency or running < fanout.max_concurrency):
            _start_child(run, state, len(fanout.children))
            continue
        if running == 0:
            return _succeed(run, state, fanout)
        return None
    return None


def _start_child(run: Run, state: FanoutState, index: int) -> None:
    assert run.fanout is not None and run.children is not None
    name = state.flow.name
    if run.fanout.kind == "Map":
        run.emit("MapIterationStarted", {"name": name, "index": index})
    scope = f"{run.scope}{name}#{run.visits.get(name, 0)}.{run.attempt}[{index}]/"
    step = run.children.start(machine_of(state, index), run, scope, run.fanout.inputs[index])
    absorb(run, state, index, step)


def _failure(fanout: Fanout) -> tuple[str, str] | None:
    failed = [child for child in fanout.children if child.status != "SUCCEEDED" and child.status != "RUNNING"]
    if not failed:
        return None
    first = (failed[0].error or "States.BranchFailed", failed[0].cause or "")
    if fanout.kind == "Parallel" or first[0] == RUNTIME:
        return first
    tolerated = fanout.tolerated_count is not None or fanout.tolerated_percentage is not None
    if not tolerated:
        return first
    over_count = fanout.tolerated_count is not None and len(failed) > fanout.tolerated_count
    share = 100.0 * len(failed) / len(fanout.inputs)
    over_share = fanout.tolerated_percentage is not None and share > fanout.tolerated_percentage
    if over_count or over_share:
        limit = f"{fanout.tolerated_count} item(s)" if over_count else f"{fanout.tolerated_percentage:g}%"
        return EXCEEDED, f"{len(failed)} of {len(fanout.inputs)} iterations failed, more than tolerated ({limit})"
    return None


def _fail(run: Run, state: FanoutState, error: str, cause: str) -> Go | None:
    """A branch or iteration failed: abort the others, then the state's Retry/Catch decide."""
    fanout = run.fanout
    assert fanout is not None
    if fanout.kind == "Map":
        for index, child in enumerate(fanout.children):
            if child.status == "RUNNING":
                run.emit("MapIterationAborted", {"name": state.flow.name, "index": index})
    run.fanout = None
    return handle_error(run, state, error, cause, f"{state.type}StateFailed", {"name": state.flow.name})


def _succeed(run: Run, state: FanoutState, fanout: Fanout) -> Go | None:
    results = [child.output if child.status == "SUCCEEDED" else {"Error": child.error, "Cause": child.cause}
               for child in fanout.children]  # fmt: skip
    run.fanout = None
    run.emit(f"{state.type}StateSucceeded", {"name": state.flow.name})
    try:
        if state.flow.jsonata:
            output, values = jsonata_task_output(run, state.flow, results)
        else:
            selected = render(run, state.result_selector, results) if state.result_selector is not None else results
            values = assigned(run, state.flow.assign, selected)
            output = state_output(run, state.flow, merge_result(state.result_path, run.state_input, selected))
    except StatesError as exc:
        details = {"state": state.flow.name, "location": exc.location, "attempt": run.attempt}
        return handle_error(run, state, exc.error, exc.cause, "EvaluationFailed", details)
    run.leave(state.type, state.flow.name, output, values)
    return Go(state.next, output)


def _compact(child: Execution) -> Execution:
    """A finished child keeps only what the parent needs: its status and result."""
    values = {name: info.default for name, info in Execution.model_fields.items()}
    values.update(execution_id=child.execution_id, status=child.status, state_name=None, started_at=child.started_at,
                  output=child.output, error=child.error, cause=child.cause, scope=child.scope)  # fmt: skip
    return build(Execution, values)
