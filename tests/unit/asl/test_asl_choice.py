"""Choice states: every operator family, And/Or/Not, type tests, Default, and what happens when nothing matches."""

from __future__ import annotations

from typing import Any

import pytest

from .support import at, entered, machine

END = {"Type": "Succeed"}


def choose(rule: dict[str, Any], input: Any, default: bool = True) -> Any:
    """Run a Choice with one rule leading to 'Yes' (and Default 'No'); return the finished step."""
    states: dict[str, Any] = {
        "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], **({"Default": "No"} if default else {})},
        "Yes": END,
    }
    if default:
        states["No"] = END
    return machine(states).start("e", input, at(0))


def picks(rule: dict[str, Any], input: Any) -> bool:
    """Whether the rule matched the input."""
    return entered(choose(rule, input).events)[-1] == "Yes"


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ({"StringEquals": "b"}, "b", True),
        ({"StringEquals": "b"}, "c", False),
        ({"StringLessThan": "b"}, "a", True),
        ({"StringGreaterThan": "b"}, "a", False),
        ({"StringLessThanEquals": "b"}, "b", True),
        ({"StringGreaterThanEquals": "b"}, "c", True),
        ({"StringEquals": "1"}, 1, False),
        ({"StringMatches": "log-*.txt"}, "log-2024-01.txt", True),
        ({"StringMatches": "log-*.txt"}, "log-2024.csv", False),
        ({"StringMatches": "a\\*b"}, "a*b", True),
        ({"StringMatches": "a\\*b"}, "axxb", False),
    ],
)
def test_string_operators(rule: dict[str, Any], value: Any, expected: bool) -> None:
    """String comparisons compare strings only; StringMatches treats * as a wildcard and \\* as a literal star."""
    assert picks({"Variable": "$.v", **rule}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ({"NumericEquals": 3}, 3.0, True),
        ({"NumericLessThan": 3}, 2.5, True),
        ({"NumericGreaterThan": 3}, 3, False),
        ({"NumericLessThanEquals": 3}, 3, True),
        ({"NumericGreaterThanEquals": 3}, 4, True),
        ({"NumericEquals": 1}, True, False),
        ({"NumericEquals": 3}, "3", False),
    ],
)
def test_numeric_operators(rule: dict[str, Any], value: Any, expected: bool) -> None:
    """Numeric comparisons accept ints and floats, never booleans or strings."""
    assert picks({"Variable": "$.v", **rule}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ({"BooleanEquals": True}, True, True),
        ({"BooleanEquals": True}, 1, False),
        ({"TimestampEquals": "2024-01-01T00:00:00Z"}, "2024-01-01T01:00:00+01:00", True),
        ({"TimestampLessThan": "2024-01-01T00:00:00Z"}, "2023-12-31T23:59:59.5Z", True),
        ({"TimestampGreaterThan": "2024-01-01T00:00:00Z"}, "2023-12-31T23:59:59Z", False),
        ({"TimestampLessThanEquals": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:00Z", True),
        ({"TimestampGreaterThanEquals": "2024-01-01T00:00:00Z"}, "2024-06-01T00:00:00Z", True),
        ({"TimestampEquals": "2024-01-01T00:00:00Z"}, "not a time", False),
    ],
)
def test_boolean_and_timestamp_operators(rule: dict[str, Any], value: Any, expected: bool) -> None:
    """BooleanEquals needs a boolean; Timestamp* compare instants across zones and reject non-timestamps."""
    assert picks({"Variable": "$.v", **rule}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("operator", "value", "other", "expected"),
    [
        ("StringEqualsPath", "a", "a", True),
        ("StringLessThanPath", "a", "b", True),
        ("NumericGreaterThanPath", 5, 4, True),
        ("NumericEqualsPath", 5, 4, False),
        ("BooleanEqualsPath", False, False, True),
        ("TimestampLessThanPath", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", True),
    ],
)
def test_path_variants_compare_two_values_of_the_input(operator: str, value: Any, other: Any, expected: bool) -> None:
    """The *Path operators compare the variable with another value read from the same input."""
    assert picks({"Variable": "$.v", operator: "$.other"}, {"v": value, "other": other}) is expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("IsNull", None, True),
        ("IsNull", 0, False),
        ("IsNumeric", 1.5, True),
        ("IsNumeric", True, False),
        ("IsString", "s", True),
        ("IsBoolean", False, True),
        ("IsTimestamp", "2024-01-01T00:00:00Z", True),
        ("IsTimestamp", "2024-01-01", False),
    ],
)
def test_type_tests(operator: str, value: Any, expected: bool) -> None:
    """Is* operators test the variable's type; `false` as operand inverts the test."""
    assert picks({"Variable": "$.v", operator: True}, {"v": value}) is expected
    assert picks({"Variable": "$.v", operator: False}, {"v": value}) is (not expected)


def test_is_present_tolerates_a_missing_variable() -> None:
    """IsPresent is the one test that may look at a path that selects nothing."""
    assert picks({"Variable": "$.v", "IsPresent": True}, {"v": None}) is True
    assert picks({"Variable": "$.v", "IsPresent": True}, {}) is False
    assert picks({"Variable": "$.v", "IsPresent": False}, {}) is True


def test_and_or_not_combine_rules() -> None:
    """And needs every rule, Or any rule, Not inverts one."""
    rule = {"And": [
        {"Variable": "$.n", "NumericGreaterThan": 1},
        {"Or": [{"Variable": "$.s", "StringEquals": "a"}, {"Variable": "$.s", "StringEquals": "b"}]},
        {"Not": {"Variable": "$.flag", "BooleanEquals": True}},
    ]}
    assert picks(rule, {"n": 2, "s": "b", "flag": False}) is True
    assert picks(rule, {"n": 2, "s": "c", "flag": False}) is False
    assert picks(rule, {"n": 2, "s": "a", "flag": True}) is False
    assert picks(rule, {"n": 1, "s": "a", "flag": False}) is False


def test_rules_are_tried_in_order_and_default_catches_the_rest() -> None:
    """The first matching rule wins; Default takes the input when none matches."""
    interpreter = machine({
        "C": {"Type": "Choice", "Default": "D", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Positive"},
        ]},
        "Big": END, "Positive": END, "D": END,
    })
    assert entered(interpreter.start("e", {"n": 11}, at(0)).events) == ["C", "Big"]
    assert entered(interpreter.start("e", {"n": 5}, at(0)).events) == ["C", "Positive"]
    assert entered(interpreter.start("e", {"n": -1}, at(0)).events) == ["C", "D"]


def test_no_match_without_default_fails_with_no_choice_matched() -> None:
    """With no matching rule and no Default the execution fails with States.NoChoiceMatched."""
    step = choose({"Variable": "$.v", "StringEquals": "x"}, {"v": "y"}, default=False)
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.NoChoiceMatched")
    assert [e.type for e in step.events][-2:] == ["ChoiceStateEntered", "ExecutionFailed"]


def test_comparing_a_missing_variable_is_a_runtime_error() -> None:
    """A comparison on a path that selects nothing fails the execution with States.Runtime."""
    step = choose({"Variable": "$.missing", "StringEquals": "x"}, {})
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")


def test_choice_applies_input_and_output_paths() -> None:
    """The rules see the effective input (InputPath) and the next state gets the OutputPath of it."""
    interpreter = machine({
        "C": {"Type": "Choice", "InputPath": "$.order", "OutputPath": "$.id",
              "Choices": [{"Variable": "$.kind", "StringEquals": "gift", "Next": "Gift"}]},
        "Gift": {"Type": "Pass", "End": True},
    })
    step = interpreter.start("e", {"order": {"kind": "gift", "id": 3}}, at(0))
    assert step.execution.output == 3
    assert step.events[2].type == "ChoiceStateExited" and step.events[2].details["output"] == 3


def test_transitions_label_choice_rules_for_drawing() -> None:
    """Choice edges carry a readable rule description; Default edges are labelled Default."""
    interpreter = machine({
        "C": {"Type": "Choice", "Default": "D", "Choices": [
            {"And": [{"Variable": "$.a", "NumericGreaterThanEquals": 1}, {"Variable": "$.b", "IsNull": False}],
             "Next": "X"}]},
        "X": END, "D": END,
    })
    edges = interpreter.machine.transitions()
    assert [(e.source, e.target, e.kind, e.label) for e in edges] == [
        ("C", "X", "choice", "($.a >= 1) and ($.b is not null)"),
        ("C", "D", "default", "Default"),
    ]
