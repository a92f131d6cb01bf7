"""Retriers and Catchers: which one handles an error, and how long to wait before the next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from ._problems import Problems
from ._variables import Assignment, compile_assign
from .errors import ALL, KNOWN_STATES_ERRORS, ErrorMatcher
from .jsonata import Value, compile_value
from .paths import InvalidPath, ResultPath

JitterStrategy = Literal["FULL", "NONE"]

_MAX_INTEGER = 99_999_999
_MAX_DELAY_LIMIT = 31_622_401
_RETRIER_FIELDS = {
    "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"
}
_CATCHER_FIELDS = {"ErrorEquals", "Next", "Comment", "Assign"}
_JSONPATH_ONLY, _JSONATA_ONLY = {"ResultPath"}, {"Output"}


@dataclass(frozen=True, slots=True)
class Retrier:
    """One element of a state's Retry array, with the spec's defaults."""

    errors: ErrorMatcher
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: JitterStrategy = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One element of a state's Catch array."""

    errors: ErrorMatcher
    next: str
    result_path: ResultPath
    assign: Assignment | None = None
    """`$` (JSONPath) or `$states.errorOutput` (JSONata) is the error output {"Error", "Cause"}."""
    output: Value | None = None
    """JSONata: the state's output when this catcher takes over (default: the error output)."""


def backoff_seconds(retrier: Retrier, retry_number: int, rng: random.Random) -> float:
    """Wait before this retrier's `retry_number`-th retry (1-based): interval x rate^(n-1), capped, then jittered."""
    try:
        delay = retrier.interval_seconds * retrier.backoff_rate ** (retry_number - 1)
    except OverflowError:
        delay = float(_MAX_INTEGER)
    delay = min(delay, float(_MAX_INTEGER))
    if retrier.max_delay_seconds is not None:
        delay = min(delay, float(retrier.max_delay_seconds))
    if retrier.jitter == "FULL":
        delay = rng.uniform(0.0, delay)
    return delay


def find_retrier(retriers: tuple[Retrier, ...], error: str) -> int | None:
    """Index of the first retrier whose ErrorEquals matches (it alone decides, even when exhausted)."""
    for index, retrier in enumerate(retriers):
        if retrier.errors.matches(error):
            return index
    return None


def find_catcher(catchers: tuple[Catcher, ...], error: str) -> int | None:
    """Index of the first catcher whose ErrorEquals matches."""
    for index, catcher in enumerate(catchers):
        if catcher.errors.matches(error):
            return index
    return None


def _error_matcher(raw: dict[str, Any], last: bool, problems: Problems, where: str, field: str) -> ErrorMatcher:
    names = raw.get("ErrorEquals")
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        problems.add(where, f"{field}.ErrorEquals", "is required and must be a non-empty array of error names")
        return ErrorMatcher.of(())
    if ALL in names and len(names) > 1:
        problems.add(where, f"{field}.ErrorEquals", "must hold 'States.ALL' alone")
    if ALL in names and not last:
        problems.add(where, f"{field}.ErrorEquals", "holds 'States.ALL', so it must be the last element")
    for name in names:
        if name.startswith("States.") and name not in KNOWN_STATES_ERRORS:
            problems.add(where, f"{field}.ErrorEquals", f"names unknown error '{name}'")
    return ErrorMatcher.of(names)


def _check_fields(
    raw: dict[str, Any], allowed: set[str], problems: Problems, where: str, field: str, jsonata: bool | None = None
) -> None:
    """`jsonata` is the language of a Catcher's state (None for a Retrier)."""
    for key in raw:
        if jsonata is not None and key in (_JSONPATH_ONLY if jsonata else _JSONATA_ONLY):
            language = "JSONPath" if jsonata else "JSONata"
            problems.add(where, f"{field}.{key}", f"is only allowed in a {language} state (this state uses "
                                                  f"{'JSONata' if jsonata else 'JSONPath'})")  # fmt: skip
        elif key not in allowed and (jsonata is None or key not in _JSONPATH_ONLY | _JSONATA_ONLY):
            problems.add(where, f"{field}.{key}", "is not a valid field here")


def _integer(
    raw: dict[str, Any], key: str, default: int, bounds: tuple[int, int], problems: Problems, where: str, field: str
) -> int:
    value = raw.get(key, default)
    least, most = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        problems.add(where, f"{field}.{key}", f"must be an integer from {least} to {most}")
        return default
    return value


def compile_retriers(raw: Any, problems: Problems, where: str) -> tuple[Retrier, ...]:
    """Compile a state's Retry array."""
    if not isinstance(raw, list):
        problems.add(where, "Retry", "must be an array of Retriers")
        return ()
    retriers = []
    for index, item in enumerate(raw):
        field = f"Retry[{index}]"
        if not isinstance(item, dict):
            problems.add(where, field, "must be an object")
            continue
        retriers.append(_retrier(item, index == len(raw) - 1, problems, where, field))
    return tuple(retriers)


def _retrier(raw: dict[str, Any], last: bool, problems: Problems, where: str, field: str) -> Retrier:
    _check_fields(raw, _RETRIER_FIELDS, problems, where, field)
    errors = _error_matcher(raw, last, problems, where, field)
    interval = _integer(raw, "IntervalSeconds", 1, (1, _MAX_INTEGER), problems, where, field)
    attempts = _integer(raw, "MaxAttempts", 3, (0, _MAX_INTEGER), problems, where, field)
    max_delay = None
    if "MaxDelaySeconds" in raw:
        max_delay = _integer(raw, "MaxDelaySeconds", 1, (1, _MAX_DELAY_LIMIT - 1), problems, where, field)
    rate = raw.get("BackoffRate", 2.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 1.0:
        problems.add(where, f"{field}.BackoffRate", "must be a number greater than or equal to 1.0")
        rate = 2.0
    jitter = raw.get("JitterStrategy", "NONE")
    if jitter not in ("FULL", "NONE"):
        problems.add(where, f"{field}.JitterStrategy", "must be 'FULL' or 'NONE'")
        jitter = "NONE"
    return Retrier(errors, interval, attempts, float(rate), max_delay, jitter)


def compile_catchers(raw: Any, problems: Problems, where: str, jsonata: bool = False) -> tuple[Catcher, ...]:
    """Compile a state's Catch array (a catcher's Next is checked against the states by the caller)."""
    if not isinstance(raw, list):
        problems.add(where, "Catch", "must be an array of Catchers")
        return ()
    catchers = []
    for index, item in enumerate(raw):
        field = f"Catch[{index}]"
        if not isinstance(item, dict):
            problems.add(where, field, "must be an object")
            continue
        _check_fields(item, _CATCHER_FIELDS, problems, where, field, jsonata)
        errors = _error_matcher(item, index == len(raw) - 1, problems, where, field)
        target = item.get("Next")
        if not isinstance(target, str):
            problems.add(where, f"{field}.Next", "is required and must be a state name")
            target = ""
        result_path = _result_path(item, problems, where, f"{field}.ResultPath")
        assign = None
        if "Assign" in item:
            assign = compile_assign(item["Assign"], jsonata, problems, where, f"{field}.Assign")
        output = compile_value(item["Output"], problems, where, f"{field}.Output") if "Output" in item else None
        catchers.append(Catcher(errors, target, result_path, assign, output))
    return tuple(catchers)


def _result_path(raw: dict[str, Any], problems: Problems, where: str, field: str) -> ResultPath:
    try:
        return ResultPath(raw.get("ResultPath", "$"))
    except InvalidPath as exc:
        problems.add(where, field, f"is invalid: {exc}")
        return ResultPath("$")
