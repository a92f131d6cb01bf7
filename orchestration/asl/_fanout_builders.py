"""Builds Parallel and Map states from their JSON: their branches / item processor are nested state machines.

Every Map field is parsed here (and only here), in either query language: a JSONata Parallel takes `Arguments`, a
JSONata Map `Items`, an `ItemSelector` of `{% %}` values and expression-valued counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from ._problems import Problems
from .jsonata import Expression, compile_expression, compile_value, is_expression
from .paths import JsonPath, ResultPath
from .retry import Catcher, Retrier, compile_catchers, compile_retriers
from .states import Flow, MapJsonata, MapState, ParallelState, StateMachine
from .templates import Template


class StateBuilder(Protocol):
    """What these builders use of _state_builders.StateBuilder (which calls them)."""

    problems: Problems
    language: str
    """The machine's query language (its branches' and item processors' states inherit it)."""
    jsonata: bool
    """Whether the state being built is a JSONata state."""
    nested: Callable[[Any, str, str, Problems, str], StateMachine | None] | None

    def _next(self, raw: dict[str, Any], where: str) -> str | None: ...
    def _template(self, raw: dict[str, Any], key: str, where: str, object_only: bool) -> Template | None: ...
    def _result_path(self, raw: dict[str, Any], where: str) -> ResultPath: ...
    def _path(self, text: Any, field: str, where: str, reference: bool) -> JsonPath | None: ...
    def target(self, value: Any, field: str, where: str) -> str | None: ...

_MAX_INTEGER = 99_999_999
_PROCESSOR_CONFIG_FIELDS = frozenset({"Mode", "ExecutionType"})
# RFC 6901: "" (the whole document) or "/"-separated tokens where "~" is only "~0" or "~1".
_JSON_POINTER = re.compile(r"^(?:/(?:[^~/]|~[01])*)*$")


def build_parallel(builder: StateBuilder, raw: dict[str, Any], flow: Flow, where: str) -> ParallelState:
    branches_raw = raw.get("Branches")
    branches: list[StateMachine] = []
    if not isinstance(branches_raw, list) or not branches_raw:
        builder.problems.add(where, "Branches", "is required and must be a non-empty array of state machines")
        branches_raw = []
    for index, branch in enumerate(branches_raw):
        machine = _nested(builder, branch, where, f"Branches[{index}]")
        if machine is not None:
            branches.append(machine)
    retriers, catchers = _retry_catch(builder, raw, where)
    jsonata = builder.jsonata
    return ParallelState(
        flow=flow,
        next=builder._next(raw, where),
        branches=tuple(branches),
        parameters=None if jsonata else builder._template(raw, "Parameters", where, object_only=False),
        result_selector=None if jsonata else builder._template(raw, "ResultSelector", where, object_only=True),
        result_path=builder._result_path(raw, where),
        retriers=retriers,
        catchers=catchers,
        arguments=compile_value(raw["Arguments"], builder.problems, where, "Arguments") if "Arguments" in raw else None,
    )


def build_map(builder: StateBuilder, raw: dict[str, Any], flow: Flow, where: str) -> MapState:
    problems = builder.problems
    processor_key = "ItemProcessor" if "ItemProcessor" in raw or "Iterator" not in raw else "Iterator"
    if "ItemProcessor" in raw and "Iterator" in raw:
        problems.add(where, "Iterator", "cannot be used together with 'ItemProcessor' (Iterator is its legacy name)")
    processor_raw = raw.get(processor_key)
    if not isinstance(processor_raw, dict):
        problems.add(where, processor_key, "is required and must be an object with StartAt and States")
        processor_raw = {}
    processor_raw = _processor_config(builder, processor_raw, where, processor_key)
    processor = _nested(builder, processor_raw, where, processor_key) if processor_raw else None
    selector_key = "ItemSelector" if "ItemSelector" in raw or "Parameters" not in raw else "Parameters"
    if "ItemSelector" in raw and "Parameters" in raw:
        problems.add(where, "Parameters", "cannot be used together with 'ItemSelector' (its legacy name in a Map)")
    if "ItemsPath" in raw and "ItemsPointer" in raw:
        problems.add(where, "ItemsPointer", "cannot be used together with 'ItemsPath'")
    pointer = raw.get("ItemsPointer")
    if pointer is not None and (not isinstance(pointer, str) or not _JSON_POINTER.match(pointer)):
        problems.add(where, "ItemsPointer", "must be a JSON Pointer (RFC 6901) such as /order/lines")
        pointer = None
    retriers, catchers = _retry_catch(builder, raw, where)
    if builder.jsonata:
        return _jsonata_map(builder, raw, flow, where, processor, pointer, retriers, catchers)
    items_path = None if "ItemsPointer" in raw else _reference(builder, raw.get("ItemsPath", "$"), "ItemsPath", where)
    return MapState(
        flow=flow,
        next=builder._next(raw, where),
        processor=processor or StateMachine(start_at="", states={}, timeout_seconds=None, comment=None),
        items_path=items_path,
        items_pointer=pointer,
        item_selector=builder._template(raw, selector_key, where, object_only=False),
        max_concurrency=_count(builder, raw, "MaxConcurrency", where, 0),
        max_concurrency_path=_optional_reference(builder, raw, "MaxConcurrencyPath", where),
        tolerated_count=_count(builder, raw, "ToleratedFailureCount", where, None),
        tolerated_count_path=_optional_reference(builder, raw, "ToleratedFailureCountPath", where),
        tolerated_percentage=_percentage(builder, raw, where),
        tolerated_percentage_path=_optional_reference(builder, raw, "ToleratedFailurePercentagePath", where),
        result_selector=builder._template(raw, "ResultSelector", where, object_only=True),
        result_path=builder._result_path(raw, where),
        retriers=retriers,
        catchers=catchers,
    )


def _jsonata_map(
    builder: StateBuilder, raw: dict[str, Any], flow: Flow, where: str, processor: StateMachine | None,
    pointer: str | None, retriers: tuple[Retrier, ...], catchers: tuple[Catcher, ...],
) -> MapState:  # fmt: skip
    """A JSONata Map: Items (an array or an expression), ItemSelector of `{% %}` values, counts as expressions."""
    problems = builder.problems
    items = raw.get("Items")
    if "Items" in raw and not (is_expression(items) or isinstance(items, list)):
        problems.add(where, "Items", "must be a JSON array or a JSONata expression {% ... %}")
    forms = MapJsonata(
        items=compile_value(items, problems, where, "Items") if "Items" in raw else None,
        item_selector=compile_value(raw["ItemSelector"], problems, where, "ItemSelector") if "ItemSelector" in raw
        else None,
        max_concurrency=_expression(builder, raw, "MaxConcurrency", where),
        tolerated_count=_expression(builder, raw, "ToleratedFailureCount", where),
        tolerated_percentage=_expression(builder, raw, "ToleratedFailurePercentage", where),
    )  # fmt: skip
    return MapState(
        flow=flow,
        next=builder._next(raw, where),
        processor=processor or StateMachine(start_at="", states={}, timeout_seconds=None, comment=None),
        items_path=None,
        items_pointer=pointer,
        item_selector=None,
        max_concurrency=0 if forms.max_concurrency else _count(builder, raw, "MaxConcurrency", where, 0),
        max_concurrency_path=None,
        tolerated_count=None if forms.tolerated_count else _count(builder, raw, "ToleratedFailureCount", where, None),
        tolerated_count_path=None,
        tolerated_percentage=None if forms.tolerated_percentage else _percentage(builder, raw, where),
        tolerated_percentage_path=None,
        result_selector=None,
        result_path=builder._result_path(raw, where),
        retriers=retriers,
        catchers=catchers,
        jsonata=forms,
    )


def _expression(builder: StateBuilder, raw: dict[str, Any], key: str, where: str) -> Expression | None:
    """A count given as a `{% %}` expression (checked when it is evaluated), else None."""
    return compile_expression(raw[key], builder.problems, where, key) if is_expression(raw.get(key)) else None


def _processor_config(builder: StateBuilder, raw: dict[str, Any], where: str, key: str) -> dict[str, Any]:
    """ItemProcessor's ProcessorConfig: Mode INLINE (the default) runs; DISTRIBUTED is refused, naming the state."""
    if "ProcessorConfig" not in raw:
        return raw
    config = raw["ProcessorConfig"]
    field = f"{key}.ProcessorConfig"
    if not isinstance(config, dict):
        builder.problems.add(where, field, "must be an object")
        return {k: v for k, v in raw.items() if k != "ProcessorConfig"}
    for name in config:
        if name not in _PROCESSOR_CONFIG_FIELDS:
            builder.problems.add(where, f"{field}.{name}", "is not a valid field here")
    mode = config.get("Mode", "INLINE")
    if mode == "DISTRIBUTED":
        builder.problems.add(where, f"{field}.Mode", "value 'DISTRIBUTED' is not supported: distributed Map (child "
                                                     "workflow executions, ItemReader, ResultWriter) does not run "
                                                     "here; use Mode INLINE")  # fmt: skip
    elif mode != "INLINE":
        builder.problems.add(where, f"{field}.Mode", f"must be 'INLINE' or 'DISTRIBUTED', got {mode!r}")
    return {k: v for k, v in raw.items() if k != "ProcessorConfig"}


def _nested(builder: StateBuilder, raw: Any, where: str, field: str) -> StateMachine | None:
    assert builder.nested is not None, "nested state machines need the definition's compiler"
    return builder.nested(raw, where, field, builder.problems, builder.language)


def _retry_catch(builder: StateBuilder, raw: dict[str, Any], where: str) -> tuple[tuple[Retrier, ...], tuple[Catcher, ...]]:
    retriers = compile_retriers(raw["Retry"], builder.problems, where) if "Retry" in raw else ()
    catchers = compile_catchers(raw["Catch"], builder.problems, where, builder.jsonata) if "Catch" in raw else ()
    for index, catcher in enumerate(catchers):
        if catcher.next:
            builder.target(catcher.next, f"Catch[{index}].Next", where)
    return retriers, catchers


def _reference(builder: StateBuilder, text: Any, key: str, where: str) -> JsonPath | None:
    return builder._path(text, key, where, reference=True)


def _optional_reference(builder: StateBuilder, raw: dict[str, Any], key: str, where: str) -> JsonPath | None:
    if key not in raw:
        return None
    if key.removesuffix("Path") in raw:
        builder.problems.add(where, key, f"cannot be used together with '{key.removesuffix('Path')}'")
    return _reference(builder, raw[key], key, where)


def _count(builder: StateBuilder, raw: dict[str, Any], key: str, where: str, default: int | None) -> Any:
    value = raw.get(key, default)
    if key in raw and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INTEGER):
        builder.problems.add(where, key, f"must be an integer from 0 to {_MAX_INTEGER}")
        return default
    return value


def _percentage(builder: StateBuilder, raw: dict[str, Any], where: str) -> float | None:
    key = "ToleratedFailurePercentage"
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        builder.problems.add(where, key, "must be a number from 0 to 100")
        return None
    return float(value)
