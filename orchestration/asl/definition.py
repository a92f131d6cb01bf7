"""Loads an ASL definition (JSON text, file or dict), validates it and compiles it into a StateMachine."""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._jsonata_builders import JSONATA, JSONPATH
from ._problems import Problems
from ._state_builders import MAX_INTEGER, StateBuilder, positive_integer
from .errors import DefinitionError, did_you_mean
from .states import State, StateMachine, Transition, edges_of

_TOP_FIELDS = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
_STATE_TYPES = frozenset({"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
_NESTED_FIELDS = frozenset({"StartAt", "States", "Comment", "QueryLanguage"})
_MAX_NAME = 80
_TOP = "Top level"
# `$$` context paths that do not need the execution's input to be kept in the Execution.
_CONTEXT_WITHOUT_INPUT = re.compile(
    r"\$\$(?!\.(?:State|Task|StateMachine|Map)\b|\.Execution\.(?:Id|Name|StartTime)\b)"
    r"|\$states(?!\.(?:input|result|errorOutput)\b|\.context\.(?:State|Task|StateMachine|Map)\b"
    r"|\.context\.Execution\.(?:Id|Name|StartTime)\b)"
)


def load_definition(source: str | Path | dict[str, Any]) -> StateMachine:
    """Load, validate and compile a definition; raises DefinitionError listing every problem found."""
    raw = _read(source)
    problems = Problems()
    machine = _compile(raw, problems)
    if problems or machine is None:
        raise DefinitionError(problems.items or ["Top level: the definition could not be compiled"])
    return machine


def _read(source: str | Path | dict[str, Any]) -> Any:
    if isinstance(source, dict):
        return copy.deepcopy(source)  # the machine shares static values with what it renders: keep its own
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return _parse(source, "the text")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError([f"{_TOP}: the definition is neither JSON text nor a readable file ({exc})"]) from None
    return _parse(text, f"'{path}'")


def _parse(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError([f"{_TOP}: {origin} is not valid JSON ({exc})"]) from None


def _compile(raw: Any, problems: Problems, nested: str | None = None, outer: str = JSONPATH) -> StateMachine | None:
    """Compile a whole definition, or (`nested` naming where it sits) a Parallel branch or Map item processor whose
    states default to the `outer` machine's query language."""
    if not isinstance(raw, dict):
        problems.note(_TOP, "the definition must be a JSON object" if nested is None else f"{nested} must be an object")
        return None
    if nested is None:
        _check_top_fields(raw, problems)
    else:
        for key in raw:
            if key not in _NESTED_FIELDS:
                problems.add(_TOP, key, f"is not a valid field of {nested}{did_you_mean(key, _NESTED_FIELDS)}")
        _check_query_language(raw, problems, _TOP)
    language = JSONATA if raw.get("QueryLanguage") == JSONATA else outer
    if outer == JSONATA and raw.get("QueryLanguage") == JSONPATH:
        problems.add(_TOP, "QueryLanguage", "cannot be 'JSONPath' inside a JSONata state machine")
    states_raw = raw.get("States")
    if not isinstance(states_raw, dict) or not states_raw:
        problems.add(_TOP, "States", "is required and must be a non-empty object")
        states_raw = {}
    start_at = raw.get("StartAt")
    if not isinstance(start_at, str):
        problems.add(_TOP, "StartAt", "is required and must be a state name")
    elif states_raw and start_at not in states_raw:
        problems.add(_TOP, "StartAt", f"names unknown state '{start_at}'{did_you_mean(start_at, states_raw)}")
    builder = StateBuilder(frozenset(states_raw), problems, language, _compile_nested)
    states = {name: state for name, value in states_raw.items() if (state := _state(builder, name, value)) is not None}
    if isinstance(start_at, str) and start_at in states_raw:
        _check_reachable(start_at, states_raw, problems)
    if problems:
        return None
    return StateMachine(
        start_at=str(start_at),
        states=MappingProxyType(states),
        timeout_seconds=raw.get("TimeoutSeconds") if nested is None else None,
        comment=raw.get("Comment"),
        uses_execution_input=_CONTEXT_WITHOUT_INPUT.search(json.dumps(raw)) is not None,
        _transitions=tuple(edge for state in states.values() for edge in edges_of(state)),
    )


def _compile_nested(raw: Any, where: str, field: str, problems: Problems, language: str) -> StateMachine | None:
    """A branch or item processor, its problems prefixed with where it sits ("State 'Fan' Branches[0] > ...").
    Its states inherit the machine's query language (`language`), as Step Functions' do."""
    inner = Problems()
    machine = _compile(raw, inner, nested=field, outer=language)
    for item in inner.items:
        problems.note(f"{where} {field}", item.removeprefix(f"{_TOP}: "))
    return machine if not inner else None


def _check_top_fields(raw: dict[str, Any], problems: Problems) -> None:
    for key in raw:
        if key not in _TOP_FIELDS:
            problems.add(_TOP, key, f"is not a valid top-level field{did_you_mean(key, _TOP_FIELDS)}")
    _check_query_language(raw, problems, _TOP)
    if "TimeoutSeconds" in raw and not positive_integer(raw["TimeoutSeconds"]):
        problems.add(_TOP, "TimeoutSeconds", f"must be a positive integer up to {MAX_INTEGER}")
    for key in ("Comment", "Version"):
        if key in raw and not isinstance(raw[key], str):
            problems.add(_TOP, key, "must be a string")


def _check_query_language(raw: dict[str, Any], problems: Problems, where: str) -> None:
    language = raw.get("QueryLanguage", "JSONPath")
    if language not in ("JSONPath", "JSONata"):
        problems.add(where, "QueryLanguage", f"must be 'JSONPath' or 'JSONata', got {json.dumps(language)}")


def _state(builder: StateBuilder, name: str, raw: Any) -> State | None:
    where = f"State '{name}'"
    if not 1 <= len(name) <= _MAX_NAME:
        builder.problems.note(where, f"the state name must be 1 to {_MAX_NAME} characters long")
    if not isinstance(raw, dict):
        builder.problems.note(where, "the state must be a JSON object")
        return None
    kind = raw.get("Type")
    if kind in _STATE_TYPES:
        return builder.build(name, raw, str(kind))
    if kind is None:
        builder.problems.add(where, "Type", "is required")
    else:
        builder.problems.add(where, "Type", f"value {json.dumps(kind)} is not a valid state type"
                                            f"{did_you_mean(str(kind), _STATE_TYPES)}")  # fmt: skip
    if isinstance(raw.get("Next"), str):
        builder.target(raw["Next"], "Next", where)
    return None


def _raw_targets(raw: Any) -> list[str]:
    """Every state a state's JSON can lead to, read leniently (it may be invalid)."""
    if not isinstance(raw, dict):
        return []
    targets = [raw.get("Next"), raw.get("Default")]
    for key in ("Choices", "Catch"):
        items = raw.get(key)
        if isinstance(items, list):
            targets.extend(item.get("Next") for item in items if isinstance(item, dict))
    return [target for target in targets if isinstance(target, str)]


def _check_reachable(start_at: str, states_raw: dict[str, Any], problems: Problems) -> None:
    seen = {start_at}
    queue = deque([start_at])
    while queue:
        for target in _raw_targets(states_raw.get(queue.popleft())):
            if target in states_raw and target not in seen:
                seen.add(target)
                queue.append(target)
    for name in states_raw:
        if name not in seen:
            problems.note(f"State '{name}'", "is not reachable from 'StartAt' (no Next, Default or Catch leads to it)")


__all__ = ["Transition", "load_definition"]
