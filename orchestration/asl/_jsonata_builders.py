"""The query language of each state and the fields each language allows, and the JSONata forms of the fields that
differ (Arguments, Output, Condition, expression-valued TimeoutSeconds, Seconds, Timestamp, Error and Cause)."""

from __future__ import annotations

import json
from typing import Any

from ._problems import Problems
from ._timestamps import parse_timestamp
from .choice import ChoiceBranch, Condition
from .jsonata import Expression, compile_expression, is_expression

JSONPATH, JSONATA = "JSONPath", "JSONata"

# Fields one language has and the other has not (Step Functions refuses them in a state of the other language).
JSONPATH_ONLY = frozenset(
    {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Result", "SecondsPath",
     "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "ErrorPath", "CausePath", "ItemsPath",
     "MaxConcurrencyPath", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath"}
)  # fmt: skip
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items"})
_INSTEAD = {
    JSONATA: "use Arguments and Output with {% %} expressions, and Assign",
    JSONPATH: "set \"QueryLanguage\": \"JSONata\" on the state (or the whole machine) to use it",
}
_RULE_FIELDS = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})


def language_of(raw: dict[str, Any], machine_language: str, problems: Problems, where: str) -> str:
    """A state's query language: its own QueryLanguage, else the machine's (a JSONata machine's states stay JSONata)."""
    language = raw.get("QueryLanguage", machine_language)
    if language not in (JSONPATH, JSONATA):
        problems.add(where, "QueryLanguage", f"must be 'JSONPath' or 'JSONata', got {json.dumps(language)}")
        return machine_language
    if machine_language == JSONATA and language == JSONPATH:
        problems.add(where, "QueryLanguage", "cannot be 'JSONPath' when the state machine's QueryLanguage is 'JSONata' "
                     "(only a JSONPath machine may mix in states of the other language)")
    return str(language)


def other_language_field(key: str, jsonata: bool) -> str | None:
    """The problem with `key` if it belongs to the other query language, else None."""
    if jsonata and key in JSONPATH_ONLY:
        return f"is only allowed in a JSONPath state; this state uses JSONata ({_INSTEAD[JSONATA]})"
    if not jsonata and key in JSONATA_ONLY:
        return f"is only allowed in a JSONata state; this state uses JSONPath ({_INSTEAD[JSONPATH]})"
    return None


def expression_or(
    raw: dict[str, Any], key: str, accepts: Any, what: str, problems: Problems, where: str
) -> tuple[Any, Expression | None]:
    """A JSONata state's field that is either a literal (`accepts(value)`) or a `{% %}` expression."""
    if key not in raw:
        return None, None
    value = raw[key]
    if is_expression(value):
        return None, compile_expression(value, problems, where, key)
    if not accepts(value):
        problems.add(where, key, f"must be {what} or a JSONata expression {{% ... %}}")
        return None, None
    return value, None


def is_timestamp(value: Any) -> bool:
    return parse_timestamp(value) is not None


def compile_condition_rule(item: Any, index: int, problems: Problems, where: str) -> Condition | None:
    """A JSONata Choice Rule: `Condition` (an expression) beside Next, and optionally Assign and Output."""
    field = f"Choices[{index}]"
    if not isinstance(item, dict):
        problems.add(where, field, "must be an object")
        return None
    for key in item:
        if key not in _RULE_FIELDS:
            hint = " (JSONPath operators such as Variable or StringEquals need a JSONPath state)"
            problems.add(where, f"{field}.{key}", f"is not a valid field of a JSONata Choice Rule{hint}")
    if not isinstance(item.get("Next"), str):
        problems.add(where, f"{field}.Next", "is required and must be a state name")
    text = item.get("Condition")
    if not is_expression(text):
        problems.add(where, f"{field}.Condition", "is required and must be a JSONata expression {% ... %}")
        return None
    expression = compile_expression(text, problems, where, f"{field}.Condition")
    return Condition(expression) if expression is not None else None


def branch(rule: Any, target: str, extras: tuple[Any, Any]) -> ChoiceBranch:
    assign, output = extras
    return ChoiceBranch(rule, target, assign, output)
