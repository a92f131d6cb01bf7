"""Every packaged and test definition passes statelint (PyPI's Python port of AWS's validator) beside our own loader,
so a definition we accept is one Step Functions' own tooling accepts too.

Two deliberate settings, both about statelint rather than the definitions:
- `FLOAT` problems are ignored: statelint wants `"BackoffRate": 2` written `2.0`, while the States Language and
  Step Functions take any number >= 1 (the published samples, which we keep byte-identical, write `2`).
- JSONata expressions are not evaluated by statelint (`--eval-jsonata` off): that mode evaluates each `{% %}` with no
  input and type-checks the value against the field, so a Choice `Condition` that yields `true` is reported as "should
  be a String". Our own loader parses every expression with the same jsonata-python library instead.

And one gap of statelint 3.1 itself: in a JSONPath state it knows neither `Assign` nor a `$name` variable path in
Parameters (it does know them in Catchers and in JSONata states), though Step Functions has both (the AWS guide's own
JSONPath example reads `"name.$": "$customerName"`). A definition using them is checked for exactly those reports and
nothing else, so the day statelint learns them this test says so.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

from orchestration.asl import load_definition

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Config({ProblemType.FLOAT})


def _scenario_definitions() -> list[Path]:
    """The definitions scenario files name (`definition = "..."`, relative to the file)."""
    found = []
    for scenario in [*ROOT.glob("scenarios/catalogue/*.toml"), *ROOT.glob("tests/data/**/*.toml")]:
        name = tomllib.loads(scenario.read_text(encoding="utf-8")).get("definition")
        if isinstance(name, str):
            found.append((scenario.parent / name).resolve())
    return found


DEFINITIONS = sorted(
    {
        *ROOT.glob("orchestration/*.asl.json"),
        *ROOT.glob("orchestration/samples/definitions/*.json"),
        *ROOT.glob("tests/data/**/*.asl.json"),
        *ROOT.glob("tests/unit/report_runs/**/*.asl.json"),
        *_scenario_definitions(),
    }
)

# Beside the files: the new syntax in the shapes the unit tests use (variables in both languages, a JSONPath machine
# with a JSONata state, Parallel and Map in both languages, in the shapes of the crash tests' checkouts), so
# statelint vouches for what it can read of them too. Its gaps besides those above: a JSONata Map's MaxConcurrency
# given as an expression (Step Functions takes one; statelint wants a number).
_BRANCH = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "svc:a", "TimeoutSeconds": 10,
                                            "HeartbeatSeconds": 5, "End": True}}}  # fmt: skip
_PROCESSOR = {"StartAt": "Reserve", "States": {"Reserve": {"Type": "Task", "Resource": "stock:reserve",
                                                           "Arguments": "{% $states.input %}", "End": True}}}
INLINE: dict[str, tuple[dict[str, Any], list[str]]] = {
    "jsonpath-variables": ({
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"who.$": "$.name", "n": 1}, "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "svc:work", "Parameters": {"who.$": "$who"},
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Cause"}, "Next": "Done"}],
                     "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }, [
        'Field "Assign" not allowed in State Machine.States.Remember',
        'Field "who.$" of Parameters at "State Machine.States.Call" is not a JSONPath or intrinsic function expression',
    ]),
    "mixed-languages": ({
        "StartAt": "Path",
        "States": {
            "Path": {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "Ata"},
            "Ata": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.x + 1 %}",
                    "Assign": {"y": "{% $states.input.x %}"}, "End": True},
        },
    }, []),
    "parallel-and-map": ({
        "StartAt": "Fulfil",
        "States": {
            "Fulfil": {"Type": "Parallel", "ResultPath": None, "Next": "Each",
                       "Branches": [{"StartAt": "Reserve", "States": {"Reserve": {
                                        "Type": "Task", "Resource": "sagalab:inventory:ReserveStock",
                                        "TimeoutSeconds": 60, "HeartbeatSeconds": 10, "End": True}}},
                                    {"StartAt": "Ship", "States": {"Ship": {
                                        "Type": "Task", "Resource": "sagalab:shipping:ScheduleShipment", "End": True}}}],
                       "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}],
                       "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}]},
            "Each": {"Type": "Map", "ItemsPath": "$.lines", "ItemSelector": {"line.$": "$$.Map.Item.Value"},
                     "MaxConcurrency": 1, "ToleratedFailurePercentage": 50, "ResultPath": "$.done", "End": True,
                     "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "One",
                                       "States": {"One": {"Type": "Pass", "End": True}}},
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}]},
            "Undo": {"Type": "Fail", "Error": "Undone"},
        },
    }, []),
    "jsonata-map-and-parallel": ({
        "QueryLanguage": "JSONata",
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"order": "{% $states.input.id %}"}, "Next": "Each"},
            "Each": {"Type": "Map", "Items": "{% $states.input.lines %}", "ItemProcessor": _PROCESSOR,
                     "ItemSelector": {"sku": "{% $states.context.Map.Item.Value.sku %}", "order": "{% $order %}"},
                     "MaxConcurrency": "{% 2 %}", "ToleratedFailureCount": 1,
                     "Assign": {"reserved": "{% $count($states.result) %}"}, "Output": "{% $states.result %}",
                     "Next": "Both"},
            "Both": {"Type": "Parallel", "Branches": [_BRANCH], "Arguments": {"n": "{% $reserved %}"},
                     "Output": "{% $states.result[0] %}",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Done"}],
                     "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }, ['State Machine.States.Each.MaxConcurrency is "{% 2 %}" but should be numeric']),
    "jsonpath-variable-in-a-branch": ({
        "StartAt": "Both",
        "States": {
            "Both": {"Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "svc:a", "Parameters": {"who.$": "$who"},
                                                  "End": True}}}]},
        },
    }, ['Field "who.$" of Parameters at "State Machine.States.Both.Branches[0].States.A" is not a JSONPath or '
        'intrinsic function expression']),
}  # fmt: skip


def test_the_definitions_are_found() -> None:
    """The globs find the checkout pair, the published samples and the scenario files' definitions."""
    names = {path.name for path in DEFINITIONS}
    assert {"checkout.asl.json", "checkout-jsonata.asl.json", "order-saga-choice-wait.asl.json"} <= names
    assert {"checkout-copy.asl.json", "checkout-3s.asl.json", "inventory-reserve-stock-sam.asl.json"} <= names


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda path: str(path.relative_to(ROOT)))
def test_definition_passes_statelint_and_our_loader(path: Path) -> None:
    assert Linter.validate(str(path), CONFIG) == []
    load_definition(path)


@pytest.mark.parametrize("name", INLINE)
def test_new_syntax_passes_statelint_but_for_its_known_gaps_and_passes_our_loader(name: str) -> None:
    definition, statelint_gaps = INLINE[name]
    assert Linter.validate(definition, CONFIG) == statelint_gaps
    load_definition(definition)


def test_statelint_and_our_loader_both_refuse_a_jsonpath_field_in_a_jsonata_state() -> None:
    """The cross-check has teeth: an InputPath in a JSONata state is refused by both."""
    definition = {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Pass", "InputPath": "$.a",
                                                                              "End": True}}}  # fmt: skip
    assert Linter.validate(definition, CONFIG) != []
    with pytest.raises(Exception, match="only allowed in a JSONPath state"):
        load_definition(definition)
