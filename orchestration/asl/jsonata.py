"""JSONata in definitions: `{% expression %}` strings compiled at load and evaluated with `$states` and the
execution's variables bound, by the jsonata-python library (a port of the reference implementation).

A JSONata value is any JSON value whose strings may be whole `{% %}` expressions (a string that merely contains one
stays literal, as in Step Functions). Failures raise States.QueryEvaluationError naming the field."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeGuard

from jsonata import Jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from ._problems import Problems
from ._timestamps import format_timestamp
from .errors import QUERY_EVALUATION_ERROR, StatesError

_OPEN, _CLOSE = "{%", "%}"
_HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def is_expression(value: Any) -> TypeGuard[str]:
    """Whether a definition string is a JSONata expression: it starts with `{%` and ends with `%}`."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith(_OPEN) and value.endswith(_CLOSE)


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression sees: `$states` (input, result, errorOutput, context) and the workflow variables."""

    states: Mapping[str, Any]
    variables: Mapping[str, Any]
    rng: random.Random
    now: datetime


class Value(Protocol):
    """A compiled JSONata value (an expression, or JSON holding expressions)."""

    def evaluate(self, scope: Scope) -> Any: ...


_UNDEFINED = object()


@dataclass(frozen=True, slots=True)
class _Static:
    value: Any

    def evaluate(self, scope: Scope) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Expression:
    """One `{% %}` expression; `field` names where it sits (e.g. "Arguments.order"), for error messages."""

    text: str
    field: str
    compiled: Jsonata

    def evaluate(self, scope: Scope) -> Any:
        value = self.evaluate_or_undefined(scope)
        if value is _UNDEFINED:
            cause = f"{self._named()} returned nothing (undefined)."
            raise StatesError(QUERY_EVALUATION_ERROR, cause, self.field)
        return value

    def _named(self) -> str:
        return f"The JSONata expression '{self.text}' specified for the field '{self.field}'"

    def evaluate_or_undefined(self, scope: Scope) -> Any:
        variables = {name: Utils.NULL_VALUE if value is None else value for name, value in scope.variables.items()}
        bindings: dict[str, Any] = {**variables, **_functions(scope), "states": scope.states}
        try:
            raw = self.compiled.evaluate(None, bindings)
        except Exception as exc:  # the library's errors and its bugs alike: the state's error, never a crash loop
            cause = f"{self._named()} failed: {exc}"
            raise StatesError(QUERY_EVALUATION_ERROR, cause, self.field) from None
        if raw is None:
            return _UNDEFINED  # jsonata-python's `undefined` (its JSON null is Utils.NULL_VALUE: compiled so)
        return _to_json(raw, self)


@dataclass(frozen=True, slots=True)
class _Object:
    items: tuple[tuple[str, Value], ...]

    def evaluate(self, scope: Scope) -> Any:
        result: dict[str, Any] = {}
        for key, node in self.items:
            # Inside an object, an expression that yields nothing leaves its key out (JSONata's own rule for objects).
            value = node.evaluate_or_undefined(scope) if isinstance(node, Expression) else node.evaluate(scope)
            if value is not _UNDEFINED:
                result[key] = value
        return result


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[Value, ...]

    def evaluate(self, scope: Scope) -> Any:
        return [node.evaluate(scope) for node in self.items]


def compile_value(value: Any, problems: Problems, where: str, field: str) -> Value:
    """Compile a JSONata-state field (Arguments, Output, an Assign value ...): every `{% %}` string in it."""
    if is_expression(value):
        return compile_expression(value, problems, where, field) or _Static(None)
    if isinstance(value, dict):
        items = tuple((key, compile_value(item, problems, where, f"{field}.{key}")) for key, item in value.items())
        if all(isinstance(node, _Static) for _, node in items):
            return _Static(value)
        return _Object(items)
    if isinstance(value, list):
        nodes = tuple(compile_value(item, problems, where, f"{field}[{index}]") for index, item in enumerate(value))
        if all(isinstance(node, _Static) for node in nodes):
            return _Static(value)
        return _Array(nodes)
    return _Static(value)


def compile_expression(text: str, problems: Problems, where: str, field: str) -> Expression | None:
    """Compile one `{% %}` string, noting a syntax error as a definition problem."""
    body = text[len(_OPEN) : -len(_CLOSE)].strip()
    if not body:
        problems.add(where, field, "holds an empty JSONata expression")
        return None
    try:
        compiled = Jsonata(body)
    except (JException, RecursionError, ValueError, TypeError) as exc:
        problems.add(where, field, f"is not a valid JSONata expression ({exc})")
        return None
    compiled.output_convert_nulls = False  # tell JSON null (Utils.NULL_VALUE) from undefined (None)
    return Expression(text, field, compiled)


def _to_json(value: Any, expression: Expression) -> Any:
    """A plain JSON value from what jsonata-python returns (its sequences are list subclasses; numbers are doubles)."""
    if value is None or value is Utils.NULL_VALUE:
        return None
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Mapping):
        return {str(key): _to_json(item, expression) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item, expression) for item in value]
    cause = f"{expression._named()} returned a function, not JSON"
    raise StatesError(QUERY_EVALUATION_ERROR, cause, expression.field)


def _functions(scope: Scope) -> dict[str, Any]:
    """Step Functions' own JSONata functions (and no `$eval`, as there), and `$now`/`$millis` read from the step's
    time (no clock is read)."""
    millis = int(scope.now.timestamp() * 1000)
    return {
        "partition": Jsonata.JLambda(_partition),
        "range": Jsonata.JLambda(_range),
        "hash": Jsonata.JLambda(_hash),
        "random": Jsonata.JLambda(lambda seed=None: scope.rng.random()),
        "uuid": Jsonata.JLambda(lambda: str(uuid.UUID(int=scope.rng.getrandbits(128), version=4))),
        "parse": Jsonata.JLambda(_parse),
        "eval": Jsonata.JLambda(_no_eval),
        "now": Jsonata.JLambda(lambda picture=None, timezone=None: format_timestamp(scope.now)),
        "millis": Jsonata.JLambda(lambda: millis),
    }


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list) or isinstance(size, bool) or not isinstance(size, (int, float)) or size < 1:
        raise ValueError("$partition needs an array and a chunk size of at least 1")
    step = int(size)
    return [list(array[index : index + step]) for index in range(0, len(array), step)]


def _range(start: Any, end: Any, step: Any) -> list[Any]:
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (start, end, step)):
        raise ValueError("$range needs three numbers")
    if step == 0:
        raise ValueError("$range needs a non-zero step")
    values, current = [], start
    while (step > 0 and current <= end) or (step < 0 and current >= end):
        values.append(current)
        current += step
    return values


def _hash(data: Any, algorithm: Any) -> str:
    name = _HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise ValueError(f"$hash algorithm must be one of {', '.join(_HASH_ALGORITHMS)}, got {algorithm!r}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _no_eval(*args: Any) -> Any:
    raise ValueError("$eval is not available in Step Functions' JSONata; use $parse")


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise ValueError("$parse needs a string holding JSON")
    return json.loads(text)


def states_of(input: Any, context: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    """The `$states` object: input and context, plus result or errorOutput where the field may read them."""
    return {"input": input, "context": context, **more}
