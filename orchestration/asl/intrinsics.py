"""Intrinsic functions (States.Format, States.UUID, States.Array ...), checked at load and evaluated per step."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from typing import Any

from ._intrinsic_parser import Argument, Call, IntrinsicSyntaxError, Literal, PathArg, parse_call
from .errors import INTRINSIC_FAILURE, StatesError
from .paths import ContextSource, PathNotFound

__all__ = ["Intrinsic", "IntrinsicSyntaxError", "compile_intrinsic", "looks_like_intrinsic"]

_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_MAX_RANGE = 1000


class _Failure(Exception):
    """An intrinsic received arguments it cannot work with."""


def _need(value: Any, kind: type | tuple[type, ...], function: str, what: str) -> Any:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _Failure(f"{function}: {what} must be {_describe(kind)}, got {json.dumps(value)}")
    if not isinstance(value, kind):
        raise _Failure(f"{function}: {what} must be {_describe(kind)}, got {_dumps(value)}")
    return value


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "an array", dict: "an object", bool: "a boolean"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(item, item.__name__) for item in kinds)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _format_piece(value: Any) -> str:
    return value if isinstance(value, str) else _dumps(value)


@functools.lru_cache(maxsize=1024)
def _split_format(raw: str) -> tuple[str, ...]:
    """Literal pieces around each unescaped `{}` placeholder of a States.Format template."""
    pieces: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(raw):
        if raw[index] == "\\" and index + 1 < len(raw):
            current.append(raw[index + 1])
            index += 2
        elif raw.startswith("{}", index):
            pieces.append("".join(current))
            current = []
            index += 2
        else:
            current.append(raw[index])
            index += 1
    pieces.append("".join(current))
    return tuple(pieces)


def _format(args: list[Any], pieces: tuple[str, ...] | None) -> str:
    template = _need(args[0], str, "States.Format", "the template")
    parts = pieces if pieces is not None else tuple(template.split("{}"))
    values = args[1:]
    if len(parts) - 1 != len(values):
        raise _Failure(f"States.Format: {len(parts) - 1} placeholder(s) but {len(values)} value(s)")
    out = [parts[0]]
    for value, piece in zip(values, parts[1:], strict=True):
        out.append(_format_piece(value))
        out.append(piece)
    return "".join(out)


def _string_to_json(args: list[Any], rng: random.Random) -> Any:
    text = _need(args[0], str, "States.StringToJson", "the argument")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Failure(f"States.StringToJson: not JSON text ({exc})") from None


def _array_partition(args: list[Any], rng: random.Random) -> list[Any]:
    items = _need(args[0], list, "States.ArrayPartition", "the array")
    size = _need(args[1], int, "States.ArrayPartition", "the chunk size")
    if size < 1:
        raise _Failure("States.ArrayPartition: the chunk size must be positive")
    return [items[start : start + size] for start in range(0, len(items), size)]


def _array_range(args: list[Any], rng: random.Random) -> list[int]:
    start, end, step = (_need(value, int, "States.ArrayRange", "every argument") for value in args)
    if step == 0:
        raise _Failure("States.ArrayRange: the step must not be 0")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > _MAX_RANGE:
        raise _Failure(f"States.ArrayRange: more than {_MAX_RANGE} items")
    return values


def _array_get_item(args: list[Any], rng: random.Random) -> Any:
    items = _need(args[0], list, "States.ArrayGetItem", "the array")
    index = _need(args[1], int, "States.ArrayGetItem", "the index")
    if not 0 <= index < len(items):
        raise _Failure(f"States.ArrayGetItem: index {index} is out of range for {len(items)} item(s)")
    return items[index]


def _array_unique(args: list[Any], rng: random.Random) -> list[Any]:
    items = _need(args[0], list, "States.ArrayUnique", "the array")
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(_dumps(item), item)
    return list(seen.values())


def _hash(args: list[Any], rng: random.Random) -> str:
    data = _need(args[0], str, "States.Hash", "the data")
    algorithm = _need(args[1], str, "States.Hash", "the algorithm")
    if algorithm not in _HASHES:
        raise _Failure(f"States.Hash: algorithm must be one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _json_merge(args: list[Any], rng: random.Random) -> dict[str, Any]:
    left = _need(args[0], dict, "States.JsonMerge", "the first argument")
    right = _need(args[1], dict, "States.JsonMerge", "the second argument")
    deep = _need(args[2], bool, "States.JsonMerge", "the deep-merge flag")
    return _merge(left, right) if deep else {**left, **right}


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = dict(left)
    for key, value in right.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both else value
    return merged


def _math_random(args: list[Any], rng: random.Random) -> int:
    start = _need(args[0], int, "States.MathRandom", "the start")
    end = _need(args[1], int, "States.MathRandom", "the end")
    if end <= start:
        raise _Failure("States.MathRandom: the end must be greater than the start")
    source = random.Random(_need(args[2], int, "States.MathRandom", "the seed")) if len(args) > 2 else rng
    return source.randrange(start, end)


def _string_split(args: list[Any], rng: random.Random) -> list[str]:
    text = _need(args[0], str, "States.StringSplit", "the string")
    delimiters = _need(args[1], str, "States.StringSplit", "the delimiters")
    if not delimiters:
        return [text]
    return [part for part in re.split(f"[{re.escape(delimiters)}]", text) if part]


def _uuid(args: list[Any], rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _array_contains(args: list[Any], rng: random.Random) -> bool:
    items = _need(args[0], list, "States.ArrayContains", "the array")
    return any(_dumps(item) == _dumps(args[1]) for item in items)


def _array_length(args: list[Any], rng: random.Random) -> int:
    return len(_need(args[0], list, "States.ArrayLength", "the array"))


def _math_add(args: list[Any], rng: random.Random) -> int:
    return int(_need(args[0], int, "States.MathAdd", "the first number")) + int(
        _need(args[1], int, "States.MathAdd", "the second number")
    )


def _base64_encode(args: list[Any], rng: random.Random) -> str:
    return base64.b64encode(_need(args[0], str, "States.Base64Encode", "the argument").encode()).decode()


def _base64_decode(args: list[Any], rng: random.Random) -> str:
    text = _need(args[0], str, "States.Base64Decode", "the argument")
    try:
        return base64.b64decode(text, validate=True).decode()
    except ValueError as exc:
        raise _Failure(f"States.Base64Decode: not base64 text ({exc})") from None


Function = Callable[[list[Any], random.Random], Any]

# name -> (implementation, least arguments, most arguments or None for any number)
_FUNCTIONS: dict[str, tuple[Function, int, int | None]] = {
    "States.Format": (lambda args, rng: _format(args, None), 1, None),
    "States.StringToJson": (_string_to_json, 1, 1),
    "States.JsonToString": (lambda args, rng: _dumps(args[0]), 1, 1),
    "States.Array": (lambda args, rng: list(args), 0, None),
    "States.ArrayPartition": (_array_partition, 2, 2),
    "States.ArrayContains": (_array_contains, 2, 2),
    "States.ArrayRange": (_array_range, 3, 3),
    "States.ArrayGetItem": (_array_get_item, 2, 2),
    "States.ArrayLength": (_array_length, 1, 1),
    "States.ArrayUnique": (_array_unique, 1, 1),
    "States.Base64Encode": (_base64_encode, 1, 1),
    "States.Base64Decode": (_base64_decode, 1, 1),
    "States.Hash": (_hash, 2, 2),
    "States.JsonMerge": (_json_merge, 3, 3),
    "States.MathRandom": (_math_random, 2, 3),
    "States.MathAdd": (_math_add, 2, 2),
    "States.StringSplit": (_string_split, 2, 2),
    "States.UUID": (_uuid, 0, 0),
}


def looks_like_intrinsic(text: str) -> bool:
    """Whether a `.$` value is meant as an intrinsic call rather than a path."""
    return text.lstrip().startswith("States.")


def _check(call: Call) -> None:
    if call.name not in _FUNCTIONS:
        raise IntrinsicSyntaxError(f"unknown intrinsic function {call.name}")
    _, least, most = _FUNCTIONS[call.name]
    if len(call.args) < least or (most is not None and len(call.args) > most):
        expected = f"{least}" if least == most else f"at least {least}" if most is None else f"{least} to {most}"
        raise IntrinsicSyntaxError(f"{call.name} takes {expected} argument(s), got {len(call.args)}")
    if call.name == "States.Format" and isinstance(call.args[0], Literal) and call.args[0].raw is not None:
        placeholders = len(_split_format(call.args[0].raw)) - 1
        if placeholders != len(call.args) - 1:
            values = len(call.args) - 1
            raise IntrinsicSyntaxError(f"States.Format has {placeholders} placeholder(s) but {values} value(s)")
    for arg in call.args:
        if isinstance(arg, Call):
            _check(arg)


class Intrinsic:
    """A compiled intrinsic expression."""

    __slots__ = ("text", "call")

    def __init__(self, text: str, call: Call) -> None:
        self.text = text
        self.call = call

    def evaluate(self, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
        """The function's value; raises StatesError(States.IntrinsicFailure)."""
        try:
            return _evaluate(self.call, document, context, rng)
        except _Failure as exc:
            raise StatesError(INTRINSIC_FAILURE, str(exc)) from None


def _evaluate(call: Call, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
    args = [_argument(arg, document, context, rng) for arg in call.args]
    if call.name == "States.Format":
        first = call.args[0]
        raw = first.raw if isinstance(first, Literal) else None
        return _format(args, _split_format(raw) if raw is not None else None)
    return _FUNCTIONS[call.name][0](args, rng)


def _argument(arg: Argument, document: Any, context: ContextSource | None, rng: random.Random) -> Any:
    if isinstance(arg, Literal):
        return arg.value
    if isinstance(arg, PathArg):
        try:
            return arg.path.read(document, context)
        except PathNotFound:
            raise _Failure(f"the path '{arg.path.text}' selects nothing in the input") from None
    return _evaluate(arg, document, context, rng)


def compile_intrinsic(text: str) -> Intrinsic:
    """Parse and check an intrinsic expression; raises IntrinsicSyntaxError."""
    call = parse_call(text)
    _check(call)
    return Intrinsic(text, call)
