"""Parallel and Map together with variables and JSONata: inner scopes read the outer variables, keep their own
assignments to themselves, and a JSONata Map/Parallel takes Items, ItemSelector, Arguments, Output and Assign;
HeartbeatSeconds works in a JSONata Task (literal or expression)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.asl import DefinitionError, load_definition

from .support import at, drive, machine, of_type, roundtrip, task

JSONATA = {"QueryLanguage": "JSONata"}


def echo(resource: str, parameters: Any) -> Any:
    return {"done": parameters}


def test_jsonata_map_runs_items_with_item_selector_reading_index_value_input_and_a_variable() -> None:
    """Items is an expression over `$states.input`; ItemSelector sees `$states.context.Map.Item` and `$order`;
    Output and Assign of the Map read `$states.result` (the iterations' outputs in item order)."""
    processor = {"StartAt": "Reserve", "States": {"Reserve": task("stock:reserve", Arguments="{% $states.input %}")}}
    states = {
        "Remember": {"Type": "Pass", "Assign": {"order": "{% $states.input.id %}"}, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "Items": "{% $states.input.lines[qty > 0] %}",
            "ItemSelector": {"sku": "{% $states.context.Map.Item.Value.sku %}",
                             "line": "{% $states.context.Map.Item.Index %}", "order": "{% $order %}"},
            "ItemProcessor": processor,
            "Assign": {"reserved": "{% $count($states.result) %}"},
            "Output": {"skus": "{% $states.result.done.sku %}", "input": "{% $states.input.id %}"},
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "Output": {"all": "{% $states.input %}", "count": "{% $reserved %}"}, "End": True},
    }  # fmt: skip
    run = drive(machine(states, **JSONATA), {"id": 7, "lines": [{"sku": "x", "qty": 1}, {"sku": "z", "qty": 0},
                                                                 {"sku": "y", "qty": 2}]}, echo)  # fmt: skip
    assert [d.parameters for d in run.dispatches] == [{"sku": "x", "line": 0, "order": 7},
                                                      {"sku": "y", "line": 1, "order": 7}]  # fmt: skip
    assert run.execution.status == "SUCCEEDED"
    assert run.execution.output == {"all": {"skus": ["x", "y"], "input": 7}, "count": 2}
    exited = of_type(run.events, "MapStateExited")[0].details
    assert exited["assignedVariables"] == {"reserved": 2}


def test_jsonata_map_items_may_be_a_literal_array_and_max_concurrency_an_expression() -> None:
    processor = {"StartAt": "Work", "States": {"Work": task("svc:work")}}
    states = {"M": {"Type": "Map", "Items": [1, "{% $states.input.extra %}", 3], "ItemProcessor": processor,
                    "MaxConcurrency": "{% $states.input.limit %}", "End": True}}  # fmt: skip
    interpreter = machine(states, **JSONATA)
    step = interpreter.start("e", {"extra": 2, "limit": 2}, at(0))
    assert [d.parameters for d in step.dispatches] == [1, 2]  # two at a time
    run = drive(interpreter, {"extra": 2, "limit": 2}, echo)
    assert run.execution.output == [{"done": 1}, {"done": 2}, {"done": 3}]


def test_jsonata_map_items_that_are_not_an_array_is_a_catchable_query_evaluation_error() -> None:
    processor = {"StartAt": "Work", "States": {"Work": task("svc:work")}}
    states = {
        "M": {"Type": "Map", "Items": "{% $states.input.lines %}", "ItemProcessor": processor,
              "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Output": "{% $states.errorOutput.Error %}",
                         "Next": "Fallback"}], "End": True},
        "Fallback": {"Type": "Succeed"},
    }  # fmt: skip
    run = drive(machine(states, **JSONATA), {"lines": "not a list"}, echo)
    assert run.execution.status == "SUCCEEDED" and run.execution.output == "States.QueryEvaluationError"


def test_a_variable_assigned_before_a_parallel_is_read_inside_its_branches_in_both_languages() -> None:
    """Inner scopes read the outer variables: `$who` in a JSONPath branch's Parameters and in a JSONata branch."""
    branches = [
        {"StartAt": "A", "States": {"A": task("svc:a", Parameters={"who.$": "$who", "input.$": "$"})}},
        {"StartAt": "B", "States": {"B": task("svc:b", QueryLanguage="JSONata",
                                              Arguments={"who": "{% $who %}", "n": "{% $states.input.n %}"})}},
    ]  # fmt: skip
    states = {
        "Remember": {"Type": "Pass", "Assign": {"who.$": "$.name"}, "Next": "Both"},
        "Both": {"Type": "Parallel", "Branches": branches, "Parameters": {"n.$": "$.n"}, "End": True},
    }
    run = drive(machine(states), {"name": "ada", "n": 3}, echo)
    assert run.execution.status == "SUCCEEDED"
    assert run.execution.output == [{"done": {"who": "ada", "input": {"n": 3}}}, {"done": {"who": "ada", "n": 3}}]


def test_jsonata_parallel_takes_arguments_output_and_assign() -> None:
    branches = [{"StartAt": "A", "States": {"A": task("svc:a")}}, {"StartAt": "B", "States": {"B": task("svc:b")}}]
    states = {"P": {"Type": "Parallel", "Branches": branches, "Arguments": {"x": "{% $states.input.x * 2 %}"},
                    "Output": "{% $states.result.done.x %}", "Assign": {"first": "{% $states.result[0] %}"},
                    "End": True}}  # fmt: skip
    run = drive(machine(states, **JSONATA), {"x": 4}, echo)
    assert run.execution.output == [8, 8]
    assert run.execution.variables == {"first": {"done": {"x": 8}}}


def test_assign_inside_a_map_iteration_stays_inside_it_and_never_changes_the_outer_variable() -> None:
    """Each iteration assigns `$seen` and shadows `$n` in its own scope: the next state of the iteration sees them,
    the outer scope keeps `$n` and never sees `$seen` (reading it after the Map is undefined: the expression fails)."""
    processor = {
        "StartAt": "Note",
        "States": {
            "Note": {"Type": "Pass", "Assign": {"seen": "{% $states.input %}", "n": "{% $n + 100 %}"}, "Next": "Use"},
            "Use": {"Type": "Pass", "Output": {"seen": "{% $seen %}", "n": "{% $n %}"}, "End": True},
        },
    }
    states = {
        "Start": {"Type": "Pass", "Assign": {"n": 1}, "Next": "Each"},
        "Each": {"Type": "Map", "ItemProcessor": processor, "Next": "After"},
        "After": {"Type": "Pass", "Output": {"n": "{% $n %}", "results": "{% $states.input %}"}, "Next": "Leak"},
        "Leak": {"Type": "Pass", "Output": "{% $seen %}", "End": True},
    }
    run = drive(machine(states, **JSONATA), ["a", "b"], echo)
    after = of_type(run.events, "PassStateExited")[-1].details["output"]
    assert after == {"n": 1, "results": [{"seen": "a", "n": 101}, {"seen": "b", "n": 101}]}
    assert run.execution.status == "FAILED" and run.execution.error == "States.QueryEvaluationError"
    assert "returned nothing" in (run.execution.cause or "")


def test_assign_inside_a_jsonpath_map_iteration_is_not_visible_after_the_map() -> None:
    processor = {"StartAt": "Note", "States": {"Note": {"Type": "Pass", "Assign": {"seen.$": "$"}, "End": True}}}
    states = {
        "Each": {"Type": "Map", "ItemProcessor": processor, "ResultPath": None, "Next": "Leak"},
        "Leak": {"Type": "Pass", "Parameters": {"seen.$": "$seen"}, "End": True},
    }
    run = drive(machine(states), ["a"], echo)
    assert run.execution.status == "FAILED" and run.execution.error == "States.Runtime"
    assert "seen" not in run.execution.variables


def test_an_iterations_variables_persist_with_it_across_a_restart() -> None:
    """A Standard execution resumed while an iteration's task is in flight still sees what the iteration assigned."""
    processor = {
        "StartAt": "Note",
        "States": {
            "Note": {"Type": "Pass", "Assign": {"mine": "{% $states.input * 10 %}"}, "Next": "Work"},
            "Work": task("svc:work", Arguments={"mine": "{% $mine %}", "outer": "{% $outer %}"}),
        },
    }
    states = {"Start": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "Each"},
              "Each": {"Type": "Map", "ItemProcessor": processor, "End": True}}  # fmt: skip
    run = drive(machine(states, **JSONATA), [1, 2], echo, persist=True)
    assert run.execution.output == [{"done": {"mine": 10, "outer": "o"}}, {"done": {"mine": 20, "outer": "o"}}]
    assert run.execution.variables == {"outer": "o"}


@pytest.mark.parametrize("heartbeat", [5, "{% $states.input.beat %}"])
def test_heartbeat_seconds_in_a_jsonata_task_times_out_with_states_heartbeat_timeout(heartbeat: Any) -> None:
    catch = [{"ErrorEquals": ["States.HeartbeatTimeout"], "Output": "{% $states.errorOutput.Error %}", "Next": "Late"}]
    interpreter = machine({"T": task("svc:slow", TimeoutSeconds=60, HeartbeatSeconds=heartbeat, Catch=catch),
                           "Late": {"Type": "Succeed"}}, **JSONATA)  # fmt: skip
    step = interpreter.start("e", {"beat": 5}, at(0))
    assert step.execution.wake_at == at(5) and step.execution.wake_for == "heartbeat_timeout"
    assert of_type(step.events, "TaskScheduled")[0].details["heartbeatInSeconds"] == 5
    beat = interpreter.task_heartbeat(roundtrip(step.execution), step.dispatches[0].token, at(4))
    assert beat.execution.wake_at == at(9)
    step = interpreter.wake(roundtrip(beat.execution), at(9))
    assert step.execution.status == "SUCCEEDED" and step.execution.output == "States.HeartbeatTimeout"


def test_a_heartbeat_expression_not_below_the_timeout_is_a_query_evaluation_error() -> None:
    interpreter = machine({"T": task("svc:slow", TimeoutSeconds=5, HeartbeatSeconds="{% 5 %}")}, **JSONATA)
    step = interpreter.start("e", {}, at(0))
    assert step.execution.status == "FAILED" and step.execution.error == "States.QueryEvaluationError"


PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({**JSONATA, "StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.x", "ItemProcessor": PROCESSOR,
                                                      "End": True}}},
         "State 'M': field 'ItemsPath' is only allowed in a JSONPath state"),
        ({"StartAt": "M", "States": {"M": {"Type": "Map", "Items": [1], "ItemProcessor": PROCESSOR, "End": True}}},
         "State 'M': field 'Items' is only allowed in a JSONata state"),
        ({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [PROCESSOR], "Arguments": {},
                                           "End": True}}},
         "State 'P': field 'Arguments' is only allowed in a JSONata state"),
        ({**JSONATA, "StartAt": "M", "States": {"M": {"Type": "Map", "Items": {"a": 1}, "ItemProcessor": PROCESSOR,
                                                      "End": True}}},
         "State 'M': field 'Items' must be a JSON array or a JSONata expression"),
        ({**JSONATA, "StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "In", "States": {"In": {"Type": "Pass", "Parameters": {}, "End": True}}}]}}},
         "State 'P' Branches[0]: State 'In': field 'Parameters' is only allowed in a JSONPath state"),
        ({**JSONATA, "StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "In", "States": {"In": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}}}]}}},
         "State 'P' Branches[0]: State 'In': field 'QueryLanguage' cannot be 'JSONPath'"),
    ],
)  # fmt: skip
def test_map_and_parallel_fields_of_the_other_language_are_refused(definition: dict[str, Any], message: str) -> None:
    """The branches' and item processors' states inherit the machine's language, as in Step Functions."""
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition)
    assert any(problem.startswith(message) for problem in caught.value.problems), caught.value.problems


def test_jsonpath_item_selector_reads_a_variable_and_the_map_assigns_from_its_result() -> None:
    """A JSONPath ItemSelector reads `$order` beside `$$.Map.Item.Value`; the Map's own Assign reads its result
    array after ResultSelector (`$`), in the outer scope."""
    processor = {"StartAt": "Work", "States": {"Work": task("svc:work")}}
    states = {
        "Remember": {"Type": "Pass", "Assign": {"order.$": "$.id"}, "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.lines", "ItemProcessor": processor,
                 "ItemSelector": {"order.$": "$order", "sku.$": "$$.Map.Item.Value"},
                 "ResultSelector": {"count.$": "States.ArrayLength($)"}, "Assign": {"count.$": "$.count"},
                 "ResultPath": "$.reserved", "End": True},
    }  # fmt: skip
    run = drive(machine(states), {"id": 9, "lines": ["x", "y"]}, echo)
    assert [d.parameters for d in run.dispatches] == [{"order": 9, "sku": "x"}, {"order": 9, "sku": "y"}]
    assert run.execution.variables == {"order": 9, "count": 2}
    assert run.execution.output == {"id": 9, "lines": ["x", "y"], "reserved": {"count": 2}}
