"""Loading definitions: sources, every problem listed at once, and refusal of unsupported features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestration.asl import DefinitionError, StateMachine, load_definition
from orchestration.asl.states import PassState

from .support import SAMPLES_FOLDER

SAMPLES = sorted(SAMPLES_FOLDER.glob("*.json"))


def problems(definition: Any) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition)
    return caught.value.problems


def one_state(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": fields}}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_the_public_samples_load_from_path_text_and_dict(sample: Path) -> None:
    """Each sample loads unmodified from a Path, a path string, JSON text and a dict, to equal machines."""
    text = sample.read_text()
    machines = [load_definition(sample), load_definition(str(sample)), load_definition(text),
                load_definition(json.loads(text))]
    assert all(isinstance(machine, StateMachine) for machine in machines)
    assert len({(m.start_at, tuple(m.states), m.timeout_seconds) for m in machines}) == 1
    assert {t.target for t in machines[0].transitions()} | {machines[0].start_at} == set(machines[0].states)


def test_machine_accessors_expose_types_resources_and_transitions() -> None:
    """StateMachine tells each state's type, a Task's verbatim Resource, and the graph's edges."""
    machine = load_definition(SAMPLES[-1])  # travel-saga-sam
    assert machine.start_at == "ReserveFlight"
    assert machine.state_type("Reservation Failed") == "Fail"
    assert machine.resource("SendingSMSFailure") == "arn:aws:states:::sns:publish"
    assert machine.task_resources()["ReserveFlight"] == "arn:aws:states:::lambda:invoke"
    kinds = {(t.source, t.target): (t.kind, t.label) for t in machine.transitions()}
    assert kinds[("ReserveFlight", "CancelFlightReservation")] == ("catch", "States.ALL")
    assert kinds[("ReserveFlight", "ReserveCarRental")] == ("next", "Next")
    with pytest.raises(KeyError):
        machine.resource("Reservation Failed")


def test_every_problem_is_listed_not_just_the_first() -> None:
    """An invalid definition reports all its problems, each naming the state and the field."""
    found = problems({
        "StartAt": "Missing",
        "Bogus": 1,
        "States": {
            "A": {"Type": "Task", "Next": "Y"},
            "B": {"Type": "Pass", "Next": "A", "End": True, "InputPath": "not a path"},
            "C": {"Type": "Wait", "Seconds": 1, "Timestamp": "2024-01-01T00:00:00Z", "Next": "A"},
            "D": {"Type": "Choice", "Choices": [], "Default": "Nowhere"},
            "E": {"Type": "Fail", "Error": "X", "ErrorPath": "$.e"},
            "F": {"Type": "Succeed", "Next": "A"},
            "G": {"Type": "Teleport"},
        },
    })
    expected = [
        "Top level: field 'Bogus' is not a valid top-level field",
        "Top level: field 'StartAt' names unknown state 'Missing'",
        "State 'A': field 'Resource' is required and must be a non-empty string",
        "State 'A': field 'Next' names unknown state 'Y'",
        "State 'B': field 'InputPath' is invalid: 'not a path' is not a JSONPath starting with '$'",
        "State 'B': field 'End' cannot be true when 'Next' is present",
        "State 'C': field 'Seconds' exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is required"
        " (found Seconds, Timestamp)",
        "State 'D': field 'Choices' is required and must be a non-empty array of Choice Rules",
        "State 'D': field 'Default' names unknown state 'Nowhere'",
        "State 'E': field 'ErrorPath' cannot be used together with 'Error'",
        "State 'F': field 'Next' is not allowed in a Succeed state",
        "State 'G': field 'Type' value \"Teleport\" is not a valid state type",
    ]
    assert found == expected


def test_a_state_nothing_leads_to_is_reported() -> None:
    """States unreachable from StartAt are a problem."""
    found = problems({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}})
    assert found == ["State 'Orphan': is not reachable from 'StartAt' (no Next, Default or Catch leads to it)"]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (one_state(Type="Map", End=True, ItemProcessor={"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
                                                        "States": {"P": {"Type": "Pass", "End": True}}}),
         "State 'S': field 'ItemProcessor.ProcessorConfig.Mode' value 'DISTRIBUTED' is not supported: distributed Map"),
        (one_state(Type="Task", Resource="r", Credentials={"RoleArn": "x"}, End=True),
         "State 'S': field 'Credentials' is not supported (cross-account task credentials)"),
        (one_state(Type="Task", Resource="r", ItemReader={}, End=True),
         "State 'S': field 'ItemReader' is not supported (distributed Map states"),
    ],
)
def test_unsupported_features_are_refused_naming_state_and_field(definition: dict[str, Any], message: str) -> None:
    """Distributed Map and credentials are refused at load with a precise message."""
    assert any(found.startswith(message) for found in problems(definition))


def test_states_all_must_be_alone_and_last() -> None:
    """States.ALL beside other names, or in a retrier/catcher that is not last, is a problem."""
    found = problems(one_state(
        Type="Task", Resource="r", End=True,
        Retry=[{"ErrorEquals": ["States.ALL", "E"]}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "S"}, {"ErrorEquals": ["E"], "Next": "S"}],
    ))
    assert found == [
        "State 'S': field 'Retry[0].ErrorEquals' must hold 'States.ALL' alone",
        "State 'S': field 'Catch[0].ErrorEquals' holds 'States.ALL', so it must be the last element",
    ]


def test_retrier_fields_are_checked() -> None:
    """Retrier numbers, jitter strategy and error names are validated, every one reported."""
    found = problems(one_state(Type="Task", Resource="r", End=True, Retry=[{
        "ErrorEquals": ["States.Made Up"], "IntervalSeconds": 0, "MaxAttempts": -1, "BackoffRate": 0.5,
        "MaxDelaySeconds": 0, "JitterStrategy": "SOME", "Extra": 1,
    }]))
    assert found == [
        "State 'S': field 'Retry[0].Extra' is not a valid field here",
        "State 'S': field 'Retry[0].ErrorEquals' names unknown error 'States.Made Up'",
        "State 'S': field 'Retry[0].IntervalSeconds' must be an integer from 1 to 99999999",
        "State 'S': field 'Retry[0].MaxAttempts' must be an integer from 0 to 99999999",
        "State 'S': field 'Retry[0].MaxDelaySeconds' must be an integer from 1 to 31622400",
        "State 'S': field 'Retry[0].BackoffRate' must be a number greater than or equal to 1.0",
        "State 'S': field 'Retry[0].JitterStrategy' must be 'FULL' or 'NONE'",
    ]


def test_templates_intrinsics_and_choice_rules_are_checked_at_load() -> None:
    """Bad `.$` values, unknown intrinsics, wrong arity and malformed Choice Rules are load problems."""
    found = problems({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "Next": "C", "ResultPath": "$.a[*]",
              "Parameters": {"a.$": 5, "b.$": "States.Nope()", "c.$": "States.Format('{} {}', $.x)", "d.$": "$.."}},
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "T"},
            {"And": [{"Variable": "$.x", "IsNull": "yes", "Next": "T"}], "Next": "T"},
            {"Variable": "$.t", "TimestampEquals": "yesterday", "Next": "T"},
        ]},
    }})
    assert len(found) == 9
    text = "\n".join(found)
    for fragment in (
        "State 'T': field 'Parameters.a.$' must be a string holding a path or an intrinsic function",
        "State 'T': field 'Parameters.b.$' is invalid: unknown intrinsic function States.Nope",
        "State 'T': field 'Parameters.c.$' is invalid: States.Format has 2 placeholder(s) but 1 value(s)",
        "State 'T': field 'Parameters.d.$' is invalid",
        "State 'T': field 'ResultPath' is invalid: '$.a[*]' is not a valid Reference Path",
        "State 'C': field 'Choices[0]' must hold exactly one comparison operator or And/Or/Not"
        " (found StringEquals, NumericEquals)",
        "State 'C': field 'Choices[1].And[0].Next' is only allowed on top-level Choice Rules",
        "State 'C': field 'Choices[1].And[0].IsNull' must be true or false",
        "State 'C': field 'Choices[2].TimestampEquals' must be an RFC 3339 timestamp, got \"yesterday\"",
    ):
        assert fragment in text


def test_text_that_is_neither_json_nor_a_file_is_one_problem() -> None:
    """Broken JSON text and a missing file each give a single top-level problem."""
    assert problems('{"StartAt": ')[0].startswith("Top level: the text is not valid JSON")
    assert problems("/no/such/definition.json")[0].startswith("Top level: the definition is neither JSON text")


def test_the_error_message_lists_every_problem() -> None:
    """str(DefinitionError) shows the count and each problem on its own line."""
    with pytest.raises(DefinitionError) as caught:
        load_definition({"States": {}})
    assert str(caught.value).splitlines() == [
        "2 problem(s) in the state machine definition:",
        "- Top level: field 'States' is required and must be a non-empty object",
        "- Top level: field 'StartAt' is required and must be a state name",
    ]


def test_a_loaded_machine_does_not_share_the_callers_dict() -> None:
    """Changing the dict after loading does not change the machine's static values."""
    definition = one_state(Type="Pass", Result={"v": 1}, End=True)
    machine = load_definition(definition)
    definition["States"]["S"]["Result"]["v"] = 2
    state = machine.state("S")
    assert isinstance(state, PassState)
    assert state.result == {"v": 1}


def test_a_near_miss_is_named_with_what_was_meant() -> None:
    """A misspelt field, state type, state name or top-level field: the problem says what was probably meant."""
    found = problems({"StartAt": "Chrage", "TimeoutSecond": 5, "States": {
        "Charge": {"Type": "Task", "Resouce": "sagalab:payment:ChargePayment", "Nxt": "Done", "End": True},
        "Done": {"Type": "Succed"}, "After": {"Type": "Pass", "Next": "Don"}}})  # fmt: skip
    for expected in ("field 'StartAt' names unknown state 'Chrage'; did you mean 'Charge'?",
                     "field 'TimeoutSecond' is not a valid top-level field; did you mean 'TimeoutSeconds'?",
                     "field 'Resouce' is not allowed in a Task state; did you mean 'Resource'?",
                     "field 'Nxt' is not allowed in a Task state; did you mean 'Next'?",
                     "value \"Succed\" is not a valid state type; did you mean 'Succeed'?",
                     "field 'Next' names unknown state 'Don'; did you mean 'Done'?"):  # fmt: skip
        assert any(expected in p for p in found), (expected, found)
