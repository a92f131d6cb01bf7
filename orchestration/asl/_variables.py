"""Workflow variables: `Assign` compiled for either query language, and evaluated against the values a state saw on
entry (every value of one Assign, and the state's Output, read the old values; the new ones take effect when the
state is left)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._problems import Problems
from .jsonata import Scope, Value, compile_value
from .paths import ContextSource
from .templates import Template, compile_template

MAX_NAME = 80
_NAME = re.compile(r"[^\W\d]\w*")
RESERVED = "states"


@dataclass(frozen=True, slots=True)
class Assignment:
    """One `Assign` object: JSONPath (`name.$` keys read `$`, `$$` or `$var`) or JSONata (`{% %}` values)."""

    names: tuple[str, ...]
    template: Template | None = None
    values: tuple[tuple[str, Value], ...] = ()

    def with_jsonpath(self, document: Any, context: ContextSource, rng: Any) -> dict[str, Any]:
        """The new values, `$` being `document` (the state's result, its input, or a Catch's error output)."""
        assert self.template is not None
        values: dict[str, Any] = self.template.render(document, context, rng)
        return values

    def with_jsonata(self, scope: Scope) -> dict[str, Any]:
        return {name: value.evaluate(scope) for name, value in self.values}


def compile_assign(raw: Any, jsonata: bool, problems: Problems, where: str, field: str = "Assign") -> Assignment | None:
    """Compile an Assign field (of a state, a Choice Rule or a Catcher), noting each bad variable name."""
    if not isinstance(raw, dict):
        problems.add(where, field, "must be an object of variable names and values")
        return None
    names = []
    for key in raw:
        name = key[:-2] if not jsonata and key.endswith(".$") else key
        _check_name(name, key, jsonata, problems, where, field)
        if name in names:
            problems.add(where, f"{field}.{key}", f"assigns the variable '{name}' twice")
        names.append(name)
    if jsonata:
        values = tuple((key, compile_value(value, problems, where, f"{field}.{key}")) for key, value in raw.items())
        return Assignment(tuple(names), values=values)
    return Assignment(tuple(names), template=compile_template(raw, problems, where, field))


def _check_name(name: str, key: str, jsonata: bool, problems: Problems, where: str, field: str) -> None:
    inner = f"{field}.{key}"
    if name == RESERVED:
        problems.add(where, inner, "cannot be assigned: '$states' is reserved by Step Functions")
    elif not 1 <= len(name) <= MAX_NAME:
        problems.add(where, inner, f"is not a valid variable name (1 to {MAX_NAME} characters)")
    elif _NAME.fullmatch(name) is None:
        hint = " (in a JSONata state values are expressions: no '.$' suffix)" if jsonata and key.endswith(".$") else ""
        problems.add(where, inner, "is not a valid variable name (letters, digits and '_', not starting with a "
                                   f"digit){hint}")  # fmt: skip
