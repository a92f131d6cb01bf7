"""Payload templates (Parameters, ResultSelector): JSON whose `.$` keys are filled from paths or intrinsics."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from ._problems import Problems
from .errors import RUNTIME, StatesError
from .intrinsics import Intrinsic, IntrinsicSyntaxError, compile_intrinsic, looks_like_intrinsic
from .paths import ContextSource, InvalidPath, JsonPath, PathNotFound, compile_path


class Template(Protocol):
    """A compiled template node."""

    def render(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Static:
    """A subtree without `.$` keys: rendered as the (shared, never mutated) definition value."""

    value: Any

    def render(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _Object:
    items: tuple[tuple[str, Template], ...]

    def render(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
        return {key: node.render(document, context, rng) for key, node in self.items}


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[Template, ...]

    def render(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
        return [node.render(document, context, rng) for node in self.items]


@dataclass(frozen=True, slots=True)
class _FromPath:
    field: str
    path: JsonPath

    def render(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
        try:
            return self.path.read(document, context)
        except PathNotFound:
            # As in Step Functions: a data bug, not a task failure, so no Retry or Catch (not even States.ALL)
            # may turn it into a compensation; the execution fails with States.Runtime.
            cause = f"The JSONPath '{self.path.text}' specified for the field '{self.field}' could not be found in the input"
            raise StatesError(RUNTIME, cause, self.field) from None


@dataclass(frozen=True, slots=True)
class _FromIntrinsic:
    field: str
    intrinsic: Intrinsic

    def render(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
        try:
            return self.intrinsic.evaluate(document, context, rng)
        except StatesError as exc:
            raise StatesError(exc.error, f"{self.field}: {exc.cause}", self.field) from None


def compile_template(value: Any, problems: Problems, where: str, field: str) -> Template:
    """Compile a Parameters/ResultSelector value found at `field` (e.g. "Parameters") of `where` (e.g. "State 'X'")."""
    if isinstance(value, dict):
        return _compile_object(value, problems, where, field)
    if isinstance(value, list):
        nodes = tuple(compile_template(item, problems, where, f"{field}[{index}]") for index, item in enumerate(value))
        if all(isinstance(node, _Static) for node in nodes):
            return _Static(value)
        return _Array(nodes)
    return _Static(value)


def _compile_object(value: dict[str, Any], problems: Problems, where: str, field: str) -> Template:
    items: list[tuple[str, Template]] = []
    for key, item in value.items():
        inner = f"{field}.{key}"
        if not key.endswith(".$"):
            items.append((key, compile_template(item, problems, where, inner)))
            continue
        name = key[:-2]
        if name in value:
            problems.add(where, inner, f"clashes with the key '{name}' of the same object")
        dynamic = _compile_dynamic(key, item, problems, where, inner)
        if dynamic is not None:
            items.append((name, dynamic))
    if all(isinstance(node, _Static) for _, node in items) and not any(key.endswith(".$") for key in value):
        return _Static(value)
    return _Object(tuple(items))


def _compile_dynamic(key: str, text: Any, problems: Problems, where: str, field: str) -> Template | None:
    if not isinstance(text, str):
        problems.add(where, field, "must be a string holding a path or an intrinsic function")
        return None
    try:
        if looks_like_intrinsic(text):
            return _FromIntrinsic(key, compile_intrinsic(text))
        return _FromPath(key, compile_path(text, variables=True))
    except (InvalidPath, IntrinsicSyntaxError) as exc:
        problems.add(where, field, f"is invalid: {exc}")
        return None
