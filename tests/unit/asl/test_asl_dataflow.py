"""Input and output processing: InputPath -> Parameters -> task -> ResultSelector -> ResultPath -> OutputPath."""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

from .support import at, machine, task


def run_task(state: dict[str, Any], input: Any, result: Any, execution_id: str = "e") -> tuple[Any, Any]:
    """The parameters one Task dispatches and the execution output after it returns `result`."""
    interpreter = machine({"T": state})
    step = interpreter.start(execution_id, input, at(0))
    parameters = step.dispatches[0].parameters
    step = interpreter.task_succeeded(step.execution, step.dispatches[0].token, result, at(1))
    assert step.execution.status == "SUCCEEDED", step.execution.error
    return parameters, step.execution.output


def test_paths_are_applied_in_spec_order() -> None:
    """InputPath selects, Parameters shapes the task input, ResultSelector shapes the result, ResultPath merges it
    into the raw input, OutputPath selects the state output."""
    state = task(
        InputPath="$.order",
        Parameters={"id.$": "$.id", "fixed": "yes"},
        ResultSelector={"charged.$": "$.body.amount"},
        ResultPath="$.order.payment",
        OutputPath="$.order",
    )
    raw = {"order": {"id": "o-1", "total": 5}, "other": True}
    parameters, output = run_task(state, raw, {"body": {"amount": 5, "noise": 1}, "status": 200})
    assert parameters == {"id": "o-1", "fixed": "yes"}
    assert output == {"id": "o-1", "total": 5, "payment": {"charged": 5}}


def test_the_input_document_is_never_mutated() -> None:
    """ResultPath builds a new document; the caller's input object stays as it was."""
    raw = {"a": {"b": 1}, "list": [1, 2]}
    snapshot = copy.deepcopy(raw)
    _, output = run_task(task(ResultPath="$.a.c"), raw, {"r": 1})
    assert raw == snapshot
    assert output == {"a": {"b": 1, "c": {"r": 1}}, "list": [1, 2]}


def test_default_result_path_replaces_and_null_discards() -> None:
    """ResultPath `$` (default) makes the result the output; ResultPath null keeps the raw input."""
    assert run_task(task(), {"in": 1}, {"out": 2})[1] == {"out": 2}
    assert run_task(task(ResultPath=None), {"in": 1}, {"out": 2})[1] == {"in": 1}


def test_null_input_and_output_paths_give_empty_objects() -> None:
    """InputPath null sends {} to the task; OutputPath null makes the state output {}."""
    parameters, output = run_task(task(InputPath=None, OutputPath=None), {"secret": 1}, {"r": 1})
    assert (parameters, output) == ({}, {})


def test_parameters_resolve_nested_dollar_keys_arrays_and_the_context_object() -> None:
    """`.$` keys work at any depth and inside arrays; `$$` reads the context object (execution id, task token)."""
    state = task(Parameters={
        "outer": {"inner.$": "$.a", "static": [1, {"deep.$": "$.b[1]"}]},
        "execution.$": "$$.Execution.Id",
        "token.$": "$$.Task.Token",
        "state.$": "$$.State.Name",
        "all.$": "$",
    })
    parameters, _ = run_task(state, {"a": "x", "b": [0, "y"]}, {}, execution_id="run-42")
    assert parameters == {
        "outer": {"inner": "x", "static": [1, {"deep": "y"}]},
        "execution": "run-42",
        "token": "run-42:T:1",
        "state": "T",
        "all": {"a": "x", "b": [0, "y"]},
    }


def test_execution_input_is_available_through_the_context_object() -> None:
    """`$$.Execution.Input` gives the execution's original input even after states changed the data."""
    interpreter = machine({
        "P": {"Type": "Pass", "Result": {"replaced": True}, "Next": "T"},
        "T": task(Parameters={"original.$": "$$.Execution.Input.order"}),
    })
    step = interpreter.start("e", {"order": 9}, at(0))
    assert step.dispatches[0].parameters == {"original": 9}


def test_parameters_call_intrinsic_functions() -> None:
    """Parameters values can be intrinsic calls, nested ones included."""
    state = task(Parameters={
        "greeting.$": "States.Format('Hello {}, you owe {}', $.name, $.amount)",
        "parsed.$": "States.StringToJson($.json)",
        "text.$": "States.JsonToString($.obj)",
        "pair.$": "States.Array($.name, States.ArrayLength($.items))",
        "sum.$": "States.MathAdd($.amount, 5)",
    })
    input = {"name": "Ada", "amount": 10, "json": "{\"k\": [1]}", "obj": {"z": 1}, "items": [1, 2, 3]}
    parameters, _ = run_task(state, input, {})
    assert parameters == {
        "greeting": "Hello Ada, you owe 10",
        "parsed": {"k": [1]},
        "text": '{"z":1}',
        "pair": ["Ada", 3],
        "sum": 15,
    }


def test_uuid_intrinsic_draws_from_the_injected_rng() -> None:
    """States.UUID is a version-4 UUID made from the interpreter's seeded rng, so it is reproducible."""
    parameters, _ = run_task(task(Parameters={"id.$": "States.UUID()"}), {}, {})
    expected = uuid.UUID(int=random.Random(7).getrandbits(128), version=4)
    assert parameters == {"id": str(expected)}


def test_result_selector_picks_from_the_raw_task_result_only() -> None:
    """ResultSelector reads the task result (not the state input) before ResultPath applies."""
    state = task(ResultSelector={"code.$": "$.StatusCode", "body.$": "$.Payload.value", "tag": "t"},
                 ResultPath="$.result")
    _, output = run_task(state, {"keep": 1}, {"StatusCode": 200, "Payload": {"value": 3}})
    assert output == {"keep": 1, "result": {"code": 200, "body": 3, "tag": "t"}}


def test_output_path_selects_part_of_the_merged_document() -> None:
    """OutputPath $.Payload passes on just the function's payload, as long-lived-transaction relies on."""
    _, output = run_task(task(OutputPath="$.Payload"), {"in": 1}, {"Payload": {"p": 1}, "StatusCode": 200})
    assert output == {"p": 1}


def test_indefinite_paths_select_lists() -> None:
    """A `.$` JSONPath with a filter or wildcard yields the list of matches (jsonpath-ng)."""
    state = task(Parameters={"cheap.$": "$.items[?(@.price < 5)].name", "names.$": "$.items[*].name"})
    items = [{"name": "a", "price": 1}, {"name": "b", "price": 9}, {"name": "c", "price": 2}]
    parameters, _ = run_task(state, {"items": items}, {})
    assert parameters == {"cheap": ["a", "c"], "names": ["a", "b", "c"]}


def test_pass_state_uses_result_or_parameters_and_result_path() -> None:
    """Pass: Result is its result; without Result, Parameters (or the effective input) is; ResultPath merges it."""
    interpreter = machine({
        "WithResult": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.fromResult", "Next": "WithParameters"},
        "WithParameters": {"Type": "Pass", "Parameters": {"copied.$": "$.fromResult.r"}, "ResultPath": "$.p",
                           "End": True},
    })
    step = interpreter.start("e", {"start": True}, at(0))
    assert step.execution.output == {"start": True, "fromResult": {"r": 1}, "p": {"copied": 1}}
    assert [e.type for e in step.events][1:4] == ["PassStateEntered", "PassStateExited", "PassStateEntered"]


def test_bracket_notation_paths_are_supported() -> None:
    """Reference paths in bracket notation read and write keys with spaces."""
    _, output = run_task(task(InputPath="$['the order']", ResultPath="$['the result']"), {"the order": {"x": 1}}, 5)
    assert output == {"the order": {"x": 1}, "the result": 5}
