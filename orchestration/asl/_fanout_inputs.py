"""What each Parallel branch or Map iteration is given, in either query language: the branches' input (Parameters or
Arguments), a Map's items (ItemsPath, ItemsPointer or Items), each item's input (ItemSelector, with the `Map.Item`
context) and its counts (MaxConcurrency, tolerated failures: literal, `...Path` or expression)."""

from __future__ import annotations

from typing import Any

from ._fast import build
from ._run import Run, effective_input, render
from .errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesError
from .execution import Fanout
from .jsonata import Expression, Scope, states_of
from .paths import JsonPath, PathNotFound
from .states import FanoutState, MapState, ParallelState


def prepare(run: Run, state: FanoutState) -> Fanout:
    """The Fanout of a Parallel or Map state entered (or retried) with `run.state_input`."""
    jsonata = state.flow.jsonata
    effective = run.state_input if jsonata else effective_input(run, state.flow, run.state_input)
    if isinstance(state, ParallelState):
        if jsonata:
            scope = run.jsonata_scope(run.state_input)
            document = state.arguments.evaluate(scope) if state.arguments is not None else effective
        else:
            document = render(run, state.parameters, effective) if state.parameters is not None else effective
        return build(Fanout, {"kind": "Parallel", "inputs": (document,) * len(state.branches), "children": (),
                              "max_concurrency": 0, "tolerated_count": None, "tolerated_percentage": None})  # fmt: skip
    items = _items(run, state, effective)
    inputs = tuple(_item_input(run, state, effective, index, item) for index, item in enumerate(items))
    values = {
        "kind": "Map",
        "inputs": inputs,
        "children": (),
        "max_concurrency": _count(run, state, "max_concurrency", effective, integer=True),
        "tolerated_count": _count(run, state, "tolerated_count", effective, integer=True),
        "tolerated_percentage": _count(run, state, "tolerated_percentage", effective, integer=False),
    }
    return build(Fanout, values)


def _items(run: Run, state: MapState, effective: Any) -> list[Any]:
    if state.items_pointer is not None:
        items = resolve_pointer(effective, state.items_pointer)
        where, error = f"ItemsPointer '{state.items_pointer}'", RUNTIME
    elif state.jsonata is not None:
        forms = state.jsonata
        items = forms.items.evaluate(run.jsonata_scope(run.state_input)) if forms.items is not None else effective
        where, error = "Items", QUERY_EVALUATION_ERROR if forms.items is not None else RUNTIME
    else:
        assert state.items_path is not None
        items = _read(run, state.items_path, effective, "ItemsPath")
        where, error = f"ItemsPath '{state.items_path.text}'", RUNTIME
    if not isinstance(items, list):
        raise StatesError(error, f"{where} must select a JSON array, got {_kind(items)}", where.split(" ")[0])
    return items


class _ItemContext:
    """The context source of one item's ItemSelector: `$$` with `Map.Item`, and the variables (`$name`)."""

    __slots__ = ("run", "item")

    def __init__(self, run: Run, index: int, value: Any) -> None:
        self.run = run
        self.item = {"Item": {"Index": index, "Value": value}}

    def __call__(self) -> dict[str, Any]:
        return {**self.run.context_object(), "Map": self.item}

    @property
    def variables(self) -> dict[str, Any]:
        return self.run.variables


def _item_input(run: Run, state: MapState, effective: Any, index: int, item: Any) -> Any:
    context = _ItemContext(run, index, item)
    if state.jsonata is not None:
        selector = state.jsonata.item_selector
        if selector is None:
            return item
        return selector.evaluate(Scope(states_of(run.state_input, context()), run.variables, run.rng, run.now))
    if state.item_selector is None:
        return item
    return state.item_selector.render(effective, context, run.rng)


def _count(run: Run, state: MapState, name: str, document: Any, integer: bool) -> Any:
    """MaxConcurrency, ToleratedFailureCount or ToleratedFailurePercentage: its expression, path, else literal."""
    expression: Expression | None = getattr(state.jsonata, name) if state.jsonata is not None else None
    path: JsonPath | None = getattr(state, f"{name}_path")
    if expression is not None:
        value, where, error = expression.evaluate(run.jsonata_scope(run.state_input)), expression.field, None
    elif path is not None:
        value, where, error = _read(run, path, document, path.text), path.text, RUNTIME
    else:
        return getattr(state, name)
    numeric = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not numeric or value < 0 or (not integer and value > 100):
        wanted = "a non-negative integer" if integer else "a number from 0 to 100"
        verb = "give" if error is None else "select"
        raise StatesError(error or QUERY_EVALUATION_ERROR, f"'{where}' must {verb} {wanted}, got {value!r}", where)
    return value


def _read(run: Run, path: JsonPath, document: Any, field_name: str) -> Any:
    try:
        return path.read(document, run.context)
    except PathNotFound:
        raise StatesError(RUNTIME, f"{field_name} '{path.text}' selects nothing in the input", field_name) from None


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at `pointer` in `document`; States.Runtime if it is not there."""
    value = document
    for raw in pointer.split("/")[1:] if pointer else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise StatesError(RUNTIME, f"ItemsPointer '{pointer}' selects nothing in the input", "ItemsPointer")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
