"""Map (inline): items, ItemSelector, MaxConcurrency, tolerated failures, iteration events, Retry/Catch, persistence."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.asl import DefinitionError, load_definition

from .support import ParticipantError, at, drive, machine, of_type, roundtrip, task

RESERVE = {"StartAt": "Reserve", "States": {"Reserve": task("stock:reserve")}}


def map_state(**fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Map", "ItemProcessor": RESERVE, **fields}
    if "Next" not in state:
        state["End"] = True
    return state


def echo(resource: str, parameters: Any) -> Any:
    return {"done": parameters}


def test_each_item_runs_the_processor_and_the_output_keeps_item_order() -> None:
    """Replies come back in any order; the output array is in item order."""
    interpreter = machine({"M": map_state(ItemsPath="$.lines", ResultPath="$.reserved")})
    step = interpreter.start("e", {"lines": ["a", "b", "c"]}, at(0))
    assert [d.parameters for d in step.dispatches] == ["a", "b", "c"]
    tokens = [d.token for d in step.dispatches]
    execution = step.execution
    for index in (2, 0, 1):
        execution = interpreter.task_succeeded(roundtrip(execution), tokens[index], f"ok-{index}", at(1)).execution
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"lines": ["a", "b", "c"], "reserved": ["ok-0", "ok-1", "ok-2"]}


def test_item_selector_sees_the_item_index_and_value_and_the_state_input() -> None:
    """ItemSelector renders per item with $$.Map.Item.Index/Value; paths read the Map's effective input."""
    selector = {"sku.$": "$$.Map.Item.Value.sku", "line.$": "$$.Map.Item.Index", "order.$": "$.id"}
    run = drive(machine({"M": map_state(ItemsPath="$.lines", ItemSelector=selector)}),
                {"id": 7, "lines": [{"sku": "x"}, {"sku": "y"}]}, echo)  # fmt: skip
    assert run.execution.output == [{"done": {"sku": "x", "line": 0, "order": 7}},
                                    {"done": {"sku": "y", "line": 1, "order": 7}}]  # fmt: skip


def test_legacy_iterator_and_parameters_work_like_item_processor_and_item_selector() -> None:
    state = {"Type": "Map", "Iterator": RESERVE, "Parameters": {"v.$": "$$.Map.Item.Value"}, "End": True}
    run = drive(machine({"M": state}), [1, 2], echo)
    assert run.execution.output == [{"done": {"v": 1}}, {"done": {"v": 2}}]


def test_items_pointer_selects_the_array_with_a_json_pointer() -> None:
    run = drive(machine({"M": map_state(ItemsPointer="/order/lines")}), {"order": {"lines": [5]}}, echo)
    assert run.execution.output == [{"done": 5}]


@pytest.mark.parametrize("limit, most", [(1, 1), (2, 2), (0, 5)])
def test_max_concurrency_bounds_how_many_iterations_run_at_once(limit: int, most: int) -> None:
    """MaxConcurrency N starts at most N iterations at a time (0: all of them)."""
    interpreter = machine({"M": map_state(MaxConcurrency=limit)})
    step = interpreter.start("e", [1, 2, 3, 4, 5], at(0))
    in_flight = list(step.dispatches)
    peak = len(in_flight)
    execution = step.execution
    while in_flight:
        dispatch = in_flight.pop(0)
        step = interpreter.task_succeeded(roundtrip(execution), dispatch.token, dispatch.parameters, at(1))
        execution = step.execution
        in_flight.extend(step.dispatches)
        peak = max(peak, len(in_flight))
    assert peak == most
    assert execution.output == [1, 2, 3, 4, 5]


def test_an_empty_array_succeeds_at_once_with_an_empty_output() -> None:
    step = machine({"M": map_state()}).start("e", [], at(0))
    assert step.execution.status == "SUCCEEDED" and step.execution.output == []


def test_items_that_are_not_an_array_fail_the_execution_with_states_runtime() -> None:
    step = machine({"M": map_state(ItemsPath="$.x", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}]),
                    "C": {"Type": "Succeed"}}).start("e", {"x": {"a": 1}}, at(0))  # fmt: skip
    assert step.execution.status == "FAILED" and step.execution.error == "States.Runtime"
    assert "must select a JSON array, got an object" in (step.execution.cause or "")


def failing(bad: set[Any]) -> Any:
    def participant(resource: str, parameters: Any) -> Any:
        if parameters in bad:
            raise ParticipantError("OutOfStock", f"no {parameters}")
        return parameters

    return participant


def test_a_failed_iteration_aborts_the_others_and_the_map_catch_handles_it() -> None:
    """Without tolerance, the first failed iteration fails the Map with its error; Catch applies to the Map."""
    states = {"M": map_state(Catch=[{"ErrorEquals": ["OutOfStock"], "Next": "Undo", "ResultPath": "$.error"}],
                             ItemsPath="$.lines", Next="Done"),
              "Undo": {"Type": "Pass", "End": True}, "Done": {"Type": "Succeed"}}  # fmt: skip
    interpreter = machine(states)
    step = interpreter.start("e", {"lines": [1, 2, 3]}, at(0))
    tokens = [d.token for d in step.dispatches]
    step = interpreter.task_failed(step.execution, tokens[1], "OutOfStock", "no 2", at(1))
    assert [e.type for e in step.events] == [
        "TaskFailed", "MapIterationFailed", "MapIterationAborted", "MapIterationAborted", "MapStateFailed",
        "MapStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]
    assert step.execution.output == {"lines": [1, 2, 3], "error": {"Error": "OutOfStock", "Cause": "no 2"}}
    late = interpreter.task_succeeded(step.execution, tokens[0], "ok", at(2))
    assert late.ignored is not None


def test_tolerated_failure_count_lets_the_map_succeed_with_error_objects_in_place() -> None:
    run = drive(machine({"M": map_state(ToleratedFailureCount=1)}), [1, 2, 3], failing({2}))
    assert run.execution.status == "SUCCEEDED"
    assert run.execution.output == [1, {"Error": "OutOfStock", "Cause": "no 2"}, 3]


def test_exceeding_the_tolerated_failure_percentage_fails_with_exceed_tolerated_failure_threshold() -> None:
    run = drive(machine({"M": map_state(ToleratedFailurePercentage=30)}), [1, 2, 3, 4], failing({2, 3}))
    assert run.execution.status == "FAILED"
    assert run.execution.error == "States.ExceedToleratedFailureThreshold"
    tolerated = drive(machine({"M": map_state(ToleratedFailurePercentage=50)}), [1, 2, 3, 4], failing({2, 3}))
    assert tolerated.execution.status == "SUCCEEDED"


def test_the_map_retry_reruns_every_iteration() -> None:
    """Retry applies to the whole Map: every item runs again in a new attempt."""
    calls: list[Any] = []

    def flaky(resource: str, parameters: Any) -> Any:
        calls.append(parameters)
        if len(calls) == 2:
            raise ParticipantError("Busy")
        return parameters

    run = drive(machine({"M": map_state(Retry=[{"ErrorEquals": ["Busy"], "IntervalSeconds": 1}])}), [1, 2], flaky)
    assert run.execution.output == [1, 2]
    assert [e.details["willRetry"] for e in of_type(run.events, "MapStateFailed")] == [True]
    assert len(of_type(run.events, "MapStateStarted")) == 2


def test_iteration_events_frame_each_iteration() -> None:
    run = drive(machine({"M": map_state()}), ["a"], echo)
    assert [e.type for e in run.events] == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapIterationStarted", "TaskStateEntered",
        "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "MapIterationSucceeded",
        "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded",
    ]
    assert of_type(run.events, "MapStateStarted")[0].details == {"length": 1}
    assert [e.id for e in run.events] == list(range(1, len(run.events) + 1))


def test_a_task_timeout_inside_an_iteration_fires_through_the_parent() -> None:
    """The parent's wake_at includes its iterations' timers; waking it times the task out."""
    processor = {"StartAt": "T", "States": {"T": task("svc:slow", TimeoutSeconds=5)}}
    interpreter = machine({"M": {"Type": "Map", "ItemProcessor": processor, "End": True}})
    step = interpreter.start("e", [1], at(0))
    assert step.execution.wake_at == at(5) and step.execution.wake_for == "task_timeout"
    step = interpreter.wake(roundtrip(step.execution), at(5))
    assert step.execution.status == "FAILED" and step.execution.error == "States.Timeout"
    assert [e.type for e in step.events][:3] == ["TaskTimedOut", "MapIterationFailed", "MapStateFailed"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ItemsPath": "$.a", "ItemsPointer": "/a"}, "field 'ItemsPointer' cannot be used together with 'ItemsPath'"),
        ({"ItemsPointer": "a"}, "field 'ItemsPointer' must be a JSON Pointer"),
        ({"MaxConcurrency": -1}, "field 'MaxConcurrency' must be an integer from 0"),
        ({"ToleratedFailurePercentage": 101}, "field 'ToleratedFailurePercentage' must be a number from 0 to 100"),
        ({"ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass"}}}},
         "State 'M' ItemProcessor: State 'X': field 'Next' is required"),
    ],
)
def test_bad_map_fields_are_refused_naming_the_state_and_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definition({"StartAt": "M", "States": {"M": map_state(**fields)}})
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_max_concurrency_and_tolerance_paths_read_the_effective_input() -> None:
    """MaxConcurrencyPath, ToleratedFailureCountPath and ToleratedFailurePercentagePath read the Map's input."""
    state = map_state(ItemsPath="$.items", MaxConcurrencyPath="$.limit", ToleratedFailureCountPath="$.may_fail")
    interpreter = machine({"M": state})
    step = interpreter.start("e", {"items": [1, 2, 3], "limit": 1, "may_fail": 1}, at(0))
    assert len(step.dispatches) == 1 and step.execution.fanout is not None
    assert (step.execution.fanout.max_concurrency, step.execution.fanout.tolerated_count) == (1, 1)
    run = drive(interpreter, {"items": [1, 2, 3], "limit": 1, "may_fail": 1}, failing({2}))
    assert run.execution.status == "SUCCEEDED"
    percentage = machine({"M": map_state(ToleratedFailurePercentagePath="$.p", ItemsPath="$.items")})
    assert drive(percentage, {"items": [1, 2], "p": 10}, failing({2})).execution.error == (
        "States.ExceedToleratedFailureThreshold"
    )
    bad = machine({"M": map_state(MaxConcurrencyPath="$.limit")}).start("e", {"limit": -1}, at(0))
    assert bad.execution.error == "States.Runtime"


def test_input_path_result_selector_result_path_and_output_path_frame_the_map() -> None:
    """InputPath before ItemsPath; ResultSelector on the array of results; ResultPath into the raw input; OutputPath."""
    state = map_state(InputPath="$.order", ItemsPath="$.lines", ResultSelector={"first.$": "$[0]", "all.$": "$"},
                      ResultPath="$.reserved", OutputPath="$.reserved")  # fmt: skip
    run = drive(machine({"M": state}), {"order": {"lines": ["a", "b"]}, "other": 1}, echo)
    assert run.execution.output == {"first": {"done": "a"}, "all": [{"done": "a"}, {"done": "b"}]}


def test_a_map_inside_a_map_iteration_and_the_context_object_of_the_execution() -> None:
    inner = {"StartAt": "In", "States": {"In": map_state(ItemSelector={"v.$": "$$.Map.Item.Value",
                                                                          "id.$": "$$.Execution.Id"})}}  # fmt: skip
    run = drive(machine({"M": {"Type": "Map", "ItemProcessor": inner, "End": True}}), [[1, 2], [3]], echo,
                execution_id="ex-3")  # fmt: skip
    assert run.execution.output == [[{"done": {"v": 1, "id": "ex-3"}}, {"done": {"v": 2, "id": "ex-3"}}],
                                    [{"done": {"v": 3, "id": "ex-3"}}]]  # fmt: skip
