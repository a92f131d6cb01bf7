"""Choice Rules: compiled at load from their JSON, evaluated against a Choice state's effective input."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._problems import Problems
from ._timestamps import parse_timestamp
from .errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesError
from .jsonata import Expression, Value
from .paths import ContextSource, InvalidPath, JsonPath, PathNotFound, compile_path

if TYPE_CHECKING:
    from ._variables import Assignment


class Rule(Protocol):
    """A compiled Boolean expression over a document."""

    def test(self, document: Any, context: ContextSource | None) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    """One top-level Choice Rule and the state it leads to, with what it assigns (and, JSONata, outputs) if taken."""

    rule: Rule
    next: str
    assign: Assignment | None = None
    output: Value | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """A JSONata Choice Rule: `Condition` must evaluate to true or false."""

    expression: Expression

    def test(self, document: Any, context: ContextSource | None) -> bool:
        scope = getattr(context, "scope", None)
        assert scope is not None, "a JSONata Condition needs the interpreter's context source"
        value = self.expression.evaluate(scope(document))
        if not isinstance(value, bool):
            cause = f"The Condition '{self.expression.text}' must evaluate to true or false, got {json.dumps(value)}"
            raise StatesError(QUERY_EVALUATION_ERROR, cause, self.expression.field)
        return value

    def describe(self) -> str:
        return self.expression.text[2:-2].strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any]


_STRING = _Kind("a string", lambda value: isinstance(value, str), lambda value: value)
_NUMBER = _Kind("a number", _is_number, lambda value: value)
_BOOLEAN = _Kind("a boolean", lambda value: isinstance(value, bool), lambda value: value)
_TIMESTAMP = _Kind("an RFC 3339 timestamp", lambda value: parse_timestamp(value) is not None, parse_timestamp)

_RELATIONS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "Equals": (operator.eq, "=="),
    "LessThan": (operator.lt, "<"),
    "GreaterThan": (operator.gt, ">"),
    "LessThanEquals": (operator.le, "<="),
    "GreaterThanEquals": (operator.ge, ">="),
}
_COMPARISONS: dict[str, tuple[_Kind, Callable[[Any, Any], bool], str]] = {
    f"{prefix}{relation}": (kind, function, symbol)
    for prefix, kind in (("String", _STRING), ("Numeric", _NUMBER), ("Timestamp", _TIMESTAMP))
    for relation, (function, symbol) in _RELATIONS.items()
}
_COMPARISONS["BooleanEquals"] = (_BOOLEAN, operator.eq, "==")

_TYPE_TESTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "IsNull": (lambda value: value is None, "null"),
    "IsNumeric": (_is_number, "numeric"),
    "IsString": (lambda value: isinstance(value, str), "a string"),
    "IsBoolean": (lambda value: isinstance(value, bool), "a boolean"),
    "IsTimestamp": (lambda value: parse_timestamp(value) is not None, "a timestamp"),
}
_LEAF_OPERATORS = frozenset(
    {*_COMPARISONS, *(f"{name}Path" for name in _COMPARISONS), *_TYPE_TESTS, "IsPresent", "StringMatches"}
)
_JSONATA_ONLY = frozenset({"Condition", "Output"})


def _read(path: JsonPath, document: Any, context: ContextSource | None) -> Any:
    try:
        return path.read(document, context)
    except PathNotFound:
        cause = f"Invalid path '{path.text}': the Choice Rule references a value that is not in the input"
        raise StatesError(RUNTIME, cause, "Choices") from None


@dataclass(frozen=True, slots=True)
class _Compare:
    variable: JsonPath
    kind: _Kind
    relation: Callable[[Any, Any], bool]
    symbol: str
    operand: Any
    operand_path: JsonPath | None

    def test(self, document: Any, context: ContextSource | None) -> bool:
        value = _read(self.variable, document, context)
        other = self.operand if self.operand_path is None else _read(self.operand_path, document, context)
        if not (self.kind.accepts(value) and self.kind.accepts(other)):
            return False
        return self.relation(self.kind.convert(value), self.kind.convert(other))

    def describe(self) -> str:
        other = self.operand_path.text if self.operand_path is not None else json.dumps(self.operand)
        return f"{self.variable.text} {self.symbol} {other}"


@dataclass(frozen=True, slots=True)
class _Matches:
    variable: JsonPath
    pattern: str
    regex: re.Pattern[str]

    def test(self, document: Any, context: ContextSource | None) -> bool:
        value = _read(self.variable, document, context)
        return isinstance(value, str) and self.regex.fullmatch(value) is not None

    def describe(self) -> str:
        return f"{self.variable.text} matches {json.dumps(self.pattern)}"


@dataclass(frozen=True, slots=True)
class _TypeTest:
    variable: JsonPath
    check: Callable[[Any], bool]
    noun: str
    expected: bool

    def test(self, document: Any, context: ContextSource | None) -> bool:
        return self.check(_read(self.variable, document, context)) == self.expected

    def describe(self) -> str:
        return f"{self.variable.text} is {'' if self.expected else 'not '}{self.noun}"


@dataclass(frozen=True, slots=True)
class _Present:
    variable: JsonPath
    expected: bool

    def test(self, document: Any, context: ContextSource | None) -> bool:
        try:
            self.variable.read(document, context)
        except PathNotFound:
            return not self.expected
        return self.expected

    def describe(self) -> str:
        return f"{self.variable.text} is {'' if self.expected else 'not '}present"


@dataclass(frozen=True, slots=True)
class _Combined:
    every: bool
    rules: tuple[Rule, ...]

    def test(self, document: Any, context: ContextSource | None) -> bool:
        if self.every:
            return all(rule.test(document, context) for rule in self.rules)
        return any(rule.test(document, context) for rule in self.rules)

    def describe(self) -> str:
        joiner = " and " if self.every else " or "
        return joiner.join(f"({rule.describe()})" for rule in self.rules)


@dataclass(frozen=True, slots=True)
class _Not:
    rule: Rule

    def test(self, document: Any, context: ContextSource | None) -> bool:
        return not self.rule.test(document, context)

    def describe(self) -> str:
        return f"not ({self.rule.describe()})"


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """StringMatches: `*` matches any run of characters; `\\*` and `\\\\` are literal."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def compile_rule(raw: Any, problems: Problems, where: str, field: str, top_level: bool) -> Rule | None:
    """Compile one Choice Rule found at `field`; returns None (with problems noted) when it is invalid."""
    if not isinstance(raw, dict):
        problems.add(where, field, "must be an object")
        return None
    _check_rule_fields(raw, problems, where, field, top_level)
    operators = [key for key in raw if key in _LEAF_OPERATORS or key in ("And", "Or", "Not")]
    if len(operators) != 1:
        found = ", ".join(operators) if operators else "none"
        problems.add(where, field, f"must hold exactly one comparison operator or And/Or/Not (found {found})")
        return None
    name = operators[0]
    if name in ("And", "Or", "Not"):
        if "Variable" in raw:
            problems.add(where, f"{field}.Variable", f"is not allowed beside '{name}'")
        return _compile_boolean(name, raw[name], problems, where, f"{field}.{name}")
    variable = _compile_variable(raw.get("Variable"), problems, where, f"{field}.Variable")
    operand = _compile_operand(name, raw[name], problems, where, f"{field}.{name}")
    if variable is None or operand is _INVALID:
        return None
    return _leaf(name, variable, operand)


_INVALID = object()


def _check_rule_fields(raw: dict[str, Any], problems: Problems, where: str, field: str, top_level: bool) -> None:
    for key in raw:
        if key in _JSONATA_ONLY:
            problems.add(where, f"{field}.{key}", "is only allowed in a JSONata state (this state uses JSONPath)")
        elif key == "Assign" and not top_level:
            problems.add(where, f"{field}.Assign", "is only allowed on top-level Choice Rules")
        elif key not in _LEAF_OPERATORS and key not in ("And", "Or", "Not", "Variable", "Next", "Comment", "Assign"):
            problems.add(where, f"{field}.{key}", "is not a valid Choice Rule field")
    if top_level and not isinstance(raw.get("Next"), str):
        problems.add(where, f"{field}.Next", "is required and must be a state name")
    if not top_level and "Next" in raw:
        problems.add(where, f"{field}.Next", "is only allowed on top-level Choice Rules")


def _compile_boolean(name: str, value: Any, problems: Problems, where: str, field: str) -> Rule | None:
    if name == "Not":
        inner = compile_rule(value, problems, where, field, top_level=False)
        return None if inner is None else _Not(inner)
    if not isinstance(value, list) or not value:
        problems.add(where, field, "must be a non-empty array of Choice Rules")
        return None
    rules = [
        compile_rule(item, problems, where, f"{field}[{index}]", top_level=False) for index, item in enumerate(value)
    ]
    if any(rule is None for rule in rules):
        return None
    return _Combined(name == "And", tuple(rule for rule in rules if rule is not None))


def _compile_variable(value: Any, problems: Problems, where: str, field: str) -> JsonPath | None:
    if value is None:
        problems.add(where, field, "is required beside a comparison operator")
        return None
    try:
        return compile_path(value, variables=True)
    except InvalidPath as exc:
        problems.add(where, field, f"is invalid: {exc}")
        return None


def _compile_operand(name: str, value: Any, problems: Problems, where: str, field: str) -> Any:
    if name.endswith("Path") and name[:-4] in _COMPARISONS:
        try:
            return compile_path(value, variables=True)
        except InvalidPath as exc:
            problems.add(where, field, f"is invalid: {exc}")
            return _INVALID
    if name in _COMPARISONS:
        kind = _COMPARISONS[name][0]
        if not kind.accepts(value):
            problems.add(where, field, f"must be {kind.name}, got {json.dumps(value)}")
            return _INVALID
        return value
    if name == "StringMatches" and not isinstance(value, str):
        problems.add(where, field, "must be a string pattern")
        return _INVALID
    if name != "StringMatches" and not isinstance(value, bool):
        problems.add(where, field, "must be true or false")
        return _INVALID
    return value


def _leaf(name: str, variable: JsonPath, operand: Any) -> Rule:
    if name == "StringMatches":
        return _Matches(variable, operand, wildcard_regex(operand))
    if name == "IsPresent":
        return _Present(variable, operand)
    if name in _TYPE_TESTS:
        check, noun = _TYPE_TESTS[name]
        return _TypeTest(variable, check, noun, operand)
    if name in _COMPARISONS:
        kind, relation, symbol = _COMPARISONS[name]
        return _Compare(variable, kind, relation, symbol, operand, None)
    kind, relation, symbol = _COMPARISONS[name[:-4]]
    return _Compare(variable, kind, relation, symbol, None, operand)
