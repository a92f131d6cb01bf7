"""Parallel and Map states: their branches / iterations run as sub-executions stepped inside the parent's steps.

A sub-execution is an Execution of the branch's (or item processor's) states, sharing the parent's id, start
time and input (so `$$` reads the same) and a `scope` that makes its task tokens unique. Its history events are
numbered into the parent's history, between `{Parallel,Map}StateStarted` and `{Parallel,Map}StateSucceeded`/
`Failed`; a Map adds `MapIterationStarted/Succeeded/Failed/Aborted`. A failing branch cancels the others (their
tasks' replies then find no pending task); the state's Retry and Catch apply to the whole Parallel or Map.
"""

from __future__ import annotations

from typing import Any

from ._fast import build
from ._run import Go, Run, effective_input, merge_result, render, state_output
from ._task import handle_error
from .errors import RUNTIME, StatesError
from .execution import Execution, Fanout, Step, awaits
from .paths import JsonPath, PathNotFound
from .states import FanoutState, MapState, ParallelState, StateMachine

EXCEEDED = "States.ExceedToleratedFailureThreshold"


def start(run: Run, state: FanoutState) -> Go | None:
    """Enter (or retry) the state: prepare each branch's or item's input, then start as many as allowed."""
    try:
        effective = effective_input(run, state.flow, run.state_input)
        fanout = _prepare(run, state, effective)
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
        selected = render(run, state.result_selector, results) if state.result_selector is not None else results
        output = state_output(run, state.flow, merge_result(state.result_path, run.state_input, selected))
    except StatesError as exc:
        details = {"state": state.flow.name, "location": exc.location, "attempt": run.attempt}
        return handle_error(run, state, exc.error, exc.cause, "EvaluationFailed", details)
    run.emit(f"{state.type}StateExited", {"name": state.flow.name, "output": output})
    return Go(state.next, output)


def _compact(child: Execution) -> Execution:
    """A finished child keeps only what the parent needs: its status and result."""
    values = {name: info.default for name, info in Execution.model_fields.items()}
    values.update(execution_id=child.execution_id, status=child.status, state_name=None, started_at=child.started_at,
                  output=child.output, error=child.error, cause=child.cause, scope=child.scope)  # fmt: skip
    return build(Execution, values)


def _prepare(run: Run, state: FanoutState, effective: Any) -> Fanout:
    if isinstance(state, ParallelState):
        document = render(run, state.parameters, effective) if state.parameters is not None else effective
        return build(Fanout, {"kind": "Parallel", "inputs": (document,) * len(state.branches), "children": (),
                              "max_concurrency": 0, "tolerated_count": None, "tolerated_percentage": None})  # fmt: skip
    items = _items(run, state, effective)
    inputs = tuple(_item_input(run, state, effective, index, item) for index, item in enumerate(items))
    values = {
        "kind": "Map",
        "inputs": inputs,
        "children": (),
        "max_concurrency": _number(run, state.max_concurrency_path, effective, state.max_concurrency, integer=True),
        "tolerated_count": _number(run, state.tolerated_count_path, effective, state.tolerated_count, integer=True),
        "tolerated_percentage": _number(
            run, state.tolerated_percentage_path, effective, state.tolerated_percentage, integer=False
        ),
    }
    return build(Fanout, values)


def _items(run: Run, state: MapState, effective: Any) -> list[Any]:
    if state.items_pointer is not None:
        items = resolve_pointer(effective, state.items_pointer)
        where = f"ItemsPointer '{state.items_pointer}'"
    else:
        assert state.items_path is not None
        items = _read(run, state.items_path, effective, "ItemsPath")
        where = f"ItemsPath '{state.items_path.text}'"
    if not isinstance(items, list):
        raise StatesError(RUNTIME, f"{where} must select a JSON array, got {_kind(items)}", where.split(" ")[0])
    return items


def _item_input(run: Run, state: MapState, effective: Any, index: int, item: Any) -> Any:
    if state.item_selector is None:
        return item

    def context() -> dict[str, Any]:
        return {**run.context(), "Map": {"Item": {"Index": index, "Value": item}}}

    return state.item_selector.render(effective, context, run.rng)


def _number(run: Run, path: JsonPath | None, document: Any, default: Any, integer: bool) -> Any:
    if path is None:
        return default
    value = _read(run, path, document, path.text)
    numeric = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not numeric or value < 0 or (not integer and value > 100):
        wanted = "a non-negative integer" if integer else "a number from 0 to 100"
        raise StatesError(RUNTIME, f"'{path.text}' must select {wanted}, got {value!r}", path.text)
    return value


def _read(run: Run, path: JsonPath, document: Any, field_name: str) -> Any:
    try:
        return path.read(document, run.context)
    except PathNotFound:
        raise StatesError(RUNTIME, f"{field_name} '{path.text}' selects nothing in the input", field_name) from None


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at `pointer` in `document`; States.Runtime if it is not there."""
    value = document
    for raw in pointer.split("/")[1:] if pointer else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise StatesError(RUNTIME, f"ItemsPointer '{pointer}' selects nothing in the input", "ItemsPointer")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
