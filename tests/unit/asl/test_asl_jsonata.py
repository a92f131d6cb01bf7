"""JSONata states: QueryLanguage at the top and per state, Arguments and Output, `$states`, expression-valued fields,
the fields each language refuses, States.QueryEvaluationError, and the JSONata checkout against the JSONPath one."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from orchestration.asl import DefinitionError, Interpreter, load_definition
from tests.unit.asl.support import ParticipantError, at, drive, machine, of_type, task

ROOT = Path(__file__).resolve().parents[3]
JSONATA = {"QueryLanguage": "JSONata"}


def echo(resource: str, parameters: Any) -> Any:
    return parameters


def problems(definition: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition)
    return caught.value.problems


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}, **top}


def test_task_output_defaults_to_the_result_and_pass_output_to_the_input() -> None:
    """With no Output a JSONata Task outputs `$states.result`, a Pass its input."""
    interpreter = machine({"Work": task(Next="Keep"), "Keep": {"Type": "Pass", "End": True}}, **JSONATA)
    assert drive(interpreter, {"a": 1}, lambda r, p: {"result": True}).execution.output == {"result": True}


def test_states_reserved_variable_gives_input_result_and_context() -> None:
    """`$states.input` is the raw state input, `$states.result` the task result, `$states.context` the `$$` object."""
    interpreter = machine({
        "Work": task(Arguments={"n": "{% $states.input.n * 2 %}"},
                     Output={"input": "{% $states.input %}", "result": "{% $states.result %}",
                             "execution": "{% $states.context.Execution.Id %}",
                             "state": "{% $states.context.State.Name %}",
                             "entered": "{% $states.context.State.EnteredTime %}"}),
    }, **JSONATA)  # fmt: skip
    run = drive(interpreter, {"n": 21}, lambda r, p: {"got": p["n"]}, task_seconds=2)
    assert run.dispatches[0].parameters == {"n": 42}
    assert run.execution.output == {"input": {"n": 21}, "result": {"got": 42}, "execution": "exec-1",
                                    "state": "Work", "entered": "2024-01-01T00:00:00Z"}  # fmt: skip


def test_states_context_execution_input_is_the_execution_input() -> None:
    """`$states.context.Execution.Input` is kept for a definition that reads it, as `$$.Execution.Input` is."""
    interpreter = machine({
        "First": {"Type": "Pass", "Output": {"replaced": True}, "Next": "Then"},
        "Then": {"Type": "Pass", "Output": "{% $states.context.Execution.Input.n %}", "End": True},
    }, **JSONATA)  # fmt: skip
    assert drive(interpreter, {"n": 5}, echo).execution.output == 5


def test_a_jsonpath_machine_may_hold_a_jsonata_state() -> None:
    """QueryLanguage on one state switches that state only; its neighbours stay JSONPath."""
    interpreter = machine({
        "Path": {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "Ata"},
        "Ata": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.x + 1 %}", "End": True},
    })  # fmt: skip
    assert drive(interpreter, {"a": 1}, echo).execution.output == 2


def test_a_jsonata_machine_cannot_hold_a_jsonpath_state() -> None:
    """Step Functions lets a JSONPath machine mix in JSONata states, not the reverse."""
    found = problems(one({"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}, **JSONATA))
    assert any("cannot be 'JSONPath' when the state machine's QueryLanguage is 'JSONata'" in p for p in found), found


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Pass", "InputPath": "$.a", "End": True}, "InputPath"),
        ({"Type": "Pass", "OutputPath": "$.a", "End": True}, "OutputPath"),
        ({"Type": "Pass", "Parameters": {}, "End": True}, "Parameters"),
        ({"Type": "Pass", "Result": 1, "End": True}, "Result"),
        ({"Type": "Pass", "ResultPath": "$.a", "End": True}, "ResultPath"),
        ({"Type": "Task", "Resource": "r", "ResultSelector": {}, "End": True}, "ResultSelector"),
        ({"Type": "Wait", "SecondsPath": "$.s", "End": True}, "SecondsPath"),
        ({"Type": "Fail", "ErrorPath": "$.e"}, "ErrorPath"),
    ],
)
def test_jsonpath_fields_are_refused_in_a_jsonata_state(state: dict[str, Any], field: str) -> None:
    """Each JSONPath-only field gets a message that says the state is JSONata and what to use instead."""
    expected = f"State 'S': field '{field}' is only allowed in a JSONPath state; this state uses JSONata"
    assert any(problem.startswith(expected) for problem in problems(one(state, **JSONATA)))


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Task", "Resource": "r", "Arguments": {}, "End": True}, "Arguments"),
        ({"Type": "Pass", "Output": {}, "End": True}, "Output"),
        ({"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "S"}]}, "Choices[0].Condition"),
        ({"Type": "Task", "Resource": "r", "End": True,
          "Catch": [{"ErrorEquals": ["States.ALL"], "Output": {}, "Next": "S"}]}, "Catch[0].Output"),
    ],
)
def test_jsonata_fields_are_refused_in_a_jsonpath_state(state: dict[str, Any], field: str) -> None:
    """Arguments, Output and Condition need QueryLanguage JSONata; the message says how to get it."""
    expected = f"State 'S': field '{field}' is only allowed in a JSONata state"
    assert any(problem.startswith(expected) for problem in problems(one(state))), problems(one(state))


def test_a_jsonata_syntax_error_is_a_definition_problem() -> None:
    """A `{% %}` that does not parse is refused at load, naming the field."""
    found = problems(one({"Type": "Pass", "Output": {"a": "{% 1 + %}"}, "End": True}, **JSONATA))
    assert found and found[0].startswith("State 'S': field 'Output.a' is not a valid JSONata expression")


def test_a_string_that_only_contains_an_expression_stays_literal() -> None:
    """Only a whole `{% ... %}` string is evaluated."""
    interpreter = machine({"S": {"Type": "Pass", "Output": {"a": "x {% 1 %}", "b": "{%1+1%}"}, "End": True}}, **JSONATA)
    assert drive(interpreter, {}, echo).execution.output == {"a": "x {% 1 %}", "b": 2}


def test_an_evaluation_error_in_arguments_is_catchable_as_query_evaluation_error() -> None:
    """A failing expression raises States.QueryEvaluationError (EvaluationFailed event); a Catcher may take it."""
    interpreter = machine({
        "Work": task(Arguments={"bad": "{% 1 + 'a' %}"},
                     Catch=[{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}]),
        "Caught": {"Type": "Pass", "End": True},
    }, **JSONATA)  # fmt: skip
    run = drive(interpreter, {}, echo)
    failed = of_type(run.events, "EvaluationFailed")[0].details
    assert (failed["error"], failed["location"], failed["catcherIndex"]) == (
        "States.QueryEvaluationError", "Arguments.bad", 0)
    assert run.execution.status == "SUCCEEDED"
    assert run.execution.output["Error"] == "States.QueryEvaluationError"


def test_an_undefined_output_fails_the_execution_but_an_undefined_key_is_dropped() -> None:
    """A field whose expression gives nothing is an error; a key inside an object is just left out."""
    dropped = machine({"S": {"Type": "Pass", "Output": {"a": "{% $states.input.none %}", "b": 1}, "End": True}},
                      **JSONATA)  # fmt: skip
    assert drive(dropped, {}, echo).execution.output == {"b": 1}
    failing = machine({"S": {"Type": "Pass", "Output": "{% $states.input.none %}", "End": True}}, **JSONATA)
    run = drive(failing, {}, echo)
    assert (run.execution.error, run.execution.status) == ("States.QueryEvaluationError", "FAILED")
    assert "returned nothing (undefined)" in (run.execution.cause or "")


def test_null_is_kept_apart_from_undefined() -> None:
    """A JSON null from the input or a variable is a value, not "nothing"."""
    interpreter = machine({
        "Set": {"Type": "Pass", "Assign": {"none": None}, "Next": "S"},
        "S": {"Type": "Pass", "Output": {"a": "{% $states.input.a %}", "v": "{% $none %}"}, "End": True},
    }, **JSONATA)  # fmt: skip
    assert drive(interpreter, {"a": None}, echo).execution.output == {"a": None, "v": None}


def test_choice_condition_assign_and_output() -> None:
    """A JSONata Choice Rule tests its Condition; the rule taken assigns and outputs with its own fields."""
    interpreter = machine({
        "Route": {"Type": "Choice", "Output": "{% 'default' %}",
                  "Choices": [{"Condition": "{% $states.input.n > 10 %}", "Assign": {"big": True},
                               "Output": {"n": "{% $states.input.n %}"}, "Next": "Done"}],
                  "Default": "Done"},
        "Done": {"Type": "Pass", "Output": {"in": "{% $states.input %}", "big": "{% $exists($big) %}"}, "End": True},
    }, **JSONATA)  # fmt: skip
    assert drive(interpreter, {"n": 11}, echo).execution.output == {"in": {"n": 11}, "big": True}
    assert drive(interpreter, {"n": 1}, echo).execution.output == {"in": "default", "big": False}


def test_a_condition_that_is_not_boolean_is_a_query_evaluation_error() -> None:
    interpreter = machine({"C": {"Type": "Choice", "Choices": [{"Condition": "{% 1 %}", "Next": "D"}], "Default": "D"},
                           "D": {"Type": "Succeed"}}, **JSONATA)  # fmt: skip
    assert drive(interpreter, {}, echo).execution.error == "States.QueryEvaluationError"


def test_expression_valued_wait_and_task_timeout() -> None:
    """Wait Seconds and Timestamp, and a Task's TimeoutSeconds, may be expressions."""
    seconds = machine({"W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": True}}, **JSONATA)
    assert drive(seconds, {"s": 4}, echo).now == at(4)
    stamp = machine({"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": True}}, **JSONATA)
    assert drive(stamp, {"t": "2024-01-01T00:00:09Z"}, echo).now == at(9)
    timed = machine({"T": task(TimeoutSeconds="{% $states.input.limit %}")}, **JSONATA)
    run = drive(timed, {"limit": 3}, echo, task_seconds=10)
    assert (run.execution.error, run.now) == ("States.Timeout", at(3))


def test_fail_error_and_cause_may_be_expressions() -> None:
    interpreter = machine({"F": {"Type": "Fail", "Error": "{% $states.input.code %}", "Cause": "plain"}}, **JSONATA)
    run = drive(interpreter, {"code": "Declined"}, echo)
    assert (run.execution.error, run.execution.cause) == ("Declined", "plain")


def test_step_functions_jsonata_functions() -> None:
    """$partition, $range, $hash, $parse and a seeded $uuid/$random, as Step Functions adds them to JSONata."""
    states = {"S": {"Type": "Pass", "End": True, "Output": {
        "partition": "{% $partition([1,2,3,4,5], 2) %}",
        "range": "{% $range(0, 10, 5) %}",
        "hash": "{% $hash('abc', 'SHA-256') %}",
        "parse": "{% $parse('{\"a\": [1]}') %}",
        "uuid": "{% $uuid() %}",
    }}}
    output = drive(machine(states, **JSONATA), {}, echo).execution.output
    assert output["partition"] == [[1, 2], [3, 4], [5]]
    assert output["range"] == [0, 5, 10]
    assert output["hash"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert output["parse"] == {"a": [1]}
    again = drive(machine(states, **JSONATA), {}, echo).execution.output
    assert output["uuid"] == again["uuid"]  # from the interpreter's seeded rng, never the global one


def test_eval_is_not_available_as_in_step_functions() -> None:
    """Step Functions leaves `$eval` out of its JSONata (use `$parse`): calling it is a QueryEvaluationError."""
    interpreter = machine({"S": {"Type": "Pass", "Output": "{% $eval('1 + 1') %}", "End": True}}, **JSONATA)
    run = drive(interpreter, {}, echo)
    assert run.execution.error == "States.QueryEvaluationError"
    assert "use $parse" in (run.execution.cause or "")


# --- the checkout saga in both languages: the same commands in the same order, the same ending -------------------


def checkout(name: str) -> Interpreter:
    return Interpreter(load_definition(ROOT / "orchestration" / name), random.Random(7))


def participants(failing: dict[str, str]) -> Any:
    def answer(resource: str, parameters: Any) -> Any:
        command = resource.rsplit(":", 1)[-1]
        if command in failing:
            raise ParticipantError(failing[command], f"{command} said no")
        return {"payment_id": "pay-1", "amount_cents": 500, "shipment_id": "ship-1", "ok": True}

    return answer


ORDER = {"order": {"order_id": "o-1", "sku": "KB-1", "quantity": 1, "amount_cents": 500}}


@pytest.mark.parametrize(
    "failing",
    [{}, {"ReserveStock": "OutOfStock"}, {"ChargePayment": "PaymentDeclined"}, {"ScheduleShipment": "ShipmentFailed"},
     {"ReserveStock": "OutOfStock", "RefundPayment": "Broken"}, {"ScheduleShipment": "Lost", "CancelShipment": "No"}],
    ids=["completed", "out-of-stock", "declined", "shipment-failed", "refund-fails", "cancel-fails"],
)
def test_the_jsonata_checkout_sends_what_the_jsonpath_checkout_sends(failing: dict[str, str]) -> None:
    """orchestration/checkout-jsonata.asl.json (variables instead of ResultPath) commands the same participants with
    the same payloads in the same order, and ends the same way, as checkout.asl.json."""
    runs = [drive(checkout(name), ORDER, participants(failing))
            for name in ("checkout.asl.json", "checkout-jsonata.asl.json")]  # fmt: skip
    sent = [[(d.resource, d.parameters) for d in run.dispatches] for run in runs]
    assert sent[0] == sent[1]
    ends = [(run.execution.status, run.execution.error, run.execution.cause) for run in runs]
    assert ends[0] == ends[1]
    if not failing:
        assert runs[1].execution.output == {**ORDER, "payment": {"payment_id": "pay-1", "amount_cents": 500},
                                            "shipment": {"shipment_id": "ship-1"}}  # fmt: skip
