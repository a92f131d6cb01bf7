"""Workflow variables: Assign on each state type, in Catchers and Choice Rules, `$name` from JSONPath and JSONata,
the values-on-entry rule, persistence with the Execution, and the names Step Functions refuses."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.asl import DefinitionError, Execution, load_definition
from tests.unit.asl.support import T0, ParticipantError, drive, machine, of_type, roundtrip, task

DOCTOR = {"title": "Doctor"}
# The example of the AWS guide "Transforming data with JSONata": the same Task in both languages gives one result.
DOC_EXPECTED = {"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"}


def echo(resource: str, parameters: Any) -> Any:
    return parameters


def test_jsonpath_parameters_read_a_variable_as_in_the_aws_guide() -> None:
    """`"name.$": "$customerName"` reads the variable; a plain "$customerName" value stays a string."""
    interpreter = machine({
        "Remember": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "Call"},
        "Call": task(Parameters={"static": "Hello", "title.$": "$.title", "name.$": "$customerName",
                                 "not-evaluated": "$customerName"}),
    })  # fmt: skip
    run = drive(interpreter, DOCTOR, echo)
    assert run.dispatches[0].parameters == DOC_EXPECTED
    assert run.execution.output == DOC_EXPECTED


def test_jsonata_arguments_read_a_variable_as_in_the_aws_guide() -> None:
    """The same Task converted to JSONata (Arguments, `{% %}`) sends the same payload."""
    interpreter = machine({
        "Remember": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "Call"},
        "Call": task(Arguments={"static": "Hello", "title": "{% $states.input.title %}", "name": "{% $customerName %}",
                                "not-evaluated": "$customerName"}),
    }, QueryLanguage="JSONata")  # fmt: skip
    run = drive(interpreter, DOCTOR, echo)
    assert run.dispatches[0].parameters == DOC_EXPECTED


def test_every_assign_of_a_state_reads_the_values_from_state_entry() -> None:
    """Within one Assign (and the state's Output) a variable keeps its old value: swapping needs no temporary."""
    interpreter = machine({
        "Init": {"Type": "Pass", "Assign": {"a": 1, "b": 2}, "Next": "Swap"},
        "Swap": {"Type": "Pass", "Assign": {"a.$": "$b", "b.$": "$a"}, "Parameters": {"seen.$": "$a"}, "Next": "Show"},
        "Show": {"Type": "Pass", "Parameters": {"a.$": "$a", "b.$": "$b"}, "End": True},
    })  # fmt: skip
    run = drive(interpreter, {}, echo)
    assert run.execution.output == {"a": 2, "b": 1}
    assert of_type(run.events, "PassStateExited")[1].details["output"] == {"seen": 1}


def test_jsonpath_task_assign_reads_the_result_after_result_selector() -> None:
    """In a JSONPath Task, `$` in Assign is the result as ResultSelector shaped it; `$$` is the context."""
    interpreter = machine({
        "Charge": task(ResultSelector={"id.$": "$.payment_id"}, ResultPath=None,
                       Assign={"payment.$": "$", "state.$": "$$.State.Name"}, Next="Use"),
        "Use": task("svc:use", Parameters={"payment.$": "$payment", "where.$": "$state", "input.$": "$"}),
    })  # fmt: skip
    run = drive(interpreter, {"order": 1}, lambda r, p: {"payment_id": "p-1", "noise": 0} if r == "svc:work" else p)
    assert run.dispatches[1].parameters == {"payment": {"id": "p-1"}, "where": "Charge", "input": {"order": 1}}
    exited = of_type(run.events, "TaskStateExited")[0]
    assert exited.details["assignedVariables"] == {"payment": {"id": "p-1"}, "state": "Charge"}


def test_catcher_assign_reads_the_error_output_in_both_languages() -> None:
    """A Catcher's Assign sees the error output: `$` in JSONPath, `$states.errorOutput` in JSONata."""
    def fail(resource: str, parameters: Any) -> Any:
        raise ParticipantError("Busy", "try later")

    jsonpath = machine({
        "Work": task(Catch=[{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Cause"}, "Next": "Done"}]),
        "Done": {"Type": "Pass", "Parameters": {"why.$": "$why"}, "End": True},
    })  # fmt: skip
    assert drive(jsonpath, {}, fail).execution.output == {"why": "try later"}
    jsonata = machine({
        "Work": task(Catch=[{"ErrorEquals": ["States.ALL"], "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                             "Output": {"error": "{% $states.errorOutput.Error %}"}, "Next": "Done"}]),
        "Done": {"Type": "Pass", "Output": {"why": "{% $why %}", "input": "{% $states.input %}"}, "End": True},
    }, QueryLanguage="JSONata")  # fmt: skip
    assert drive(jsonata, {}, fail).execution.output == {"why": "try later", "input": {"error": "Busy"}}


@pytest.mark.parametrize(("amount", "expected"), [(5, "small"), (500, "default")])
def test_choice_rule_assigns_when_taken_and_the_state_assign_goes_with_default(amount: int, expected: str) -> None:
    """A matched JSONPath Choice Rule assigns its own variables; the Default takes the state's Assign."""
    interpreter = machine({
        "Route": {"Type": "Choice", "Assign": {"size": "default"},
                  "Choices": [{"Variable": "$.amount", "NumericLessThan": 10, "Assign": {"size": "small"},
                               "Next": "Done"}],
                  "Default": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"size.$": "$size"}, "End": True},
    })  # fmt: skip
    assert drive(interpreter, {"amount": amount}, echo).execution.output == {"size": expected}


def test_wait_assigns_on_leaving() -> None:
    """A Wait state's Assign takes effect when it is left (after its timer)."""
    interpreter = machine({
        "Pause": {"Type": "Wait", "Seconds": 3, "Assign": {"waited.$": "$.n"}, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"waited.$": "$waited"}, "End": True},
    })  # fmt: skip
    assert drive(interpreter, {"n": 3}, echo).execution.output == {"waited": 3}


def test_variables_persist_with_the_execution_and_survive_a_restart() -> None:
    """A Standard execution persisted while a task is in flight and restored (a crash) still sees its variables."""
    interpreter = machine({
        "Remember": {"Type": "Pass", "Assign": {"order.$": "$.order"}, "Next": "Work"},
        "Work": task(Parameters={"order.$": "$order"}),
    })  # fmt: skip
    step = interpreter.start("exec-1", {"order": {"id": "o-1"}}, T0)
    restored = Execution.model_validate_json(step.execution.model_dump_json())
    assert restored.variables == {"order": {"id": "o-1"}}
    done = interpreter.task_succeeded(roundtrip(restored), step.dispatches[0].token, {"ok": True}, T0)
    assert done.execution.status == "SUCCEEDED"
    assert done.execution.variables == {"order": {"id": "o-1"}}


def test_intrinsic_functions_read_variables() -> None:
    """An intrinsic function's argument may be a variable path."""
    interpreter = machine({
        "Remember": {"Type": "Pass", "Assign": {"who": {"name": "Ada"}}, "Next": "Greet"},
        "Greet": {"Type": "Pass", "Parameters": {"text.$": "States.Format('Hello {}', $who.name)"}, "End": True},
    })  # fmt: skip
    assert drive(interpreter, {}, echo).execution.output == {"text": "Hello Ada"}


def test_an_unassigned_variable_in_jsonpath_fails_the_execution_with_states_runtime() -> None:
    """Reading a variable nothing assigned is a data bug, as a missing path is: States.Runtime, not catchable."""
    interpreter = machine({
        "Work": task(Parameters={"x.$": "$never"}, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]),
        "Caught": {"Type": "Succeed"},
    })  # fmt: skip
    run = drive(interpreter, {}, echo)
    assert (run.execution.status, run.execution.error) == ("FAILED", "States.Runtime")


def problems(definition: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition)
    return caught.value.problems


def one_pass(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True, **fields}}}


@pytest.mark.parametrize(
    ("assign", "language", "message"),
    [
        ({"states": 1}, "JSONPath", "field 'Assign.states' cannot be assigned: '$states' is reserved"),
        ({"1st": 1}, "JSONPath", "field 'Assign.1st' is not a valid variable name"),
        ({"a-b": 1}, "JSONPath", "field 'Assign.a-b' is not a valid variable name"),
        ({"x" * 81: 1}, "JSONPath", "is not a valid variable name (1 to 80 characters)"),
        ({"x.$": "$.a"}, "JSONata", "no '.$' suffix"),
        ({"x.$": "a"}, "JSONPath", "is not a JSONPath starting with '$'"),
    ],
)
def test_bad_variable_names_are_refused_at_load(assign: dict[str, Any], language: str, message: str) -> None:
    """Variable names follow Step Functions' rules; `.$` is JSONPath's marker, not part of a JSONata name."""
    found = problems({**one_pass(Assign=assign), "QueryLanguage": language})
    assert any(message in problem for problem in found), found


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_variables_cannot_be_read_by_input_path_or_output_path(field: str) -> None:
    """Only Parameters, ResultSelector, Assign, Choice Rules and intrinsic functions read `$name`."""
    found = problems(one_pass(**{field: "$x"}))
    assert any(f"field '{field}'" in problem and "reads a variable" in problem for problem in found), found


def test_assign_is_refused_where_step_functions_has_none() -> None:
    """Succeed and Fail states have no Assign, nor has a nested Choice Rule."""
    assert "State 'S': field 'Assign' is not allowed in a Succeed state" in problems(
        {"StartAt": "S", "States": {"S": {"Type": "Succeed", "Assign": {"x": 1}}}}
    )[0]
    nested = {"Not": {"Variable": "$.a", "IsPresent": True, "Assign": {"x": 1}}, "Next": "S"}
    found = problems({"StartAt": "S", "States": {"S": {"Type": "Choice", "Choices": [nested], "Default": "S"}}})
    assert "State 'S': field 'Choices[0].Not.Assign' is only allowed on top-level Choice Rules" in found
