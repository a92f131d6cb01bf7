"""Intrinsic functions: parsing (escapes, nesting, paths) and each function's result or States.IntrinsicFailure."""

from __future__ import annotations

import random
from typing import Any

import pytest

from orchestration.asl import StatesError
from orchestration.asl.intrinsics import IntrinsicSyntaxError, compile_intrinsic

DOC = {"name": "Ada", "n": 4, "items": [3, 1, 3], "obj": {"a": 1}, "text": "a,b;c", "nested": {"x": {"y": 2}}}


def evaluate(expression: str, document: Any = None) -> Any:
    context = {"Execution": {"Id": "run-1"}}
    intrinsic = compile_intrinsic(expression)
    return intrinsic.evaluate(DOC if document is None else document, lambda: context, random.Random(1))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('Hi {}!', $.name)", "Hi Ada!"),
        ("States.Format('{} has {} items: {}', $.name, $.n, $.items)", "Ada has 4 items: [3,1,3]"),
        (r"States.Format('braces \{\} and quote \' stay')", "braces {} and quote ' stay"),
        (r"States.Format('a\\b {}', 1)", "a\\b 1"),
        ("States.Format('run {}', $$.Execution.Id)", "run run-1"),
        ("States.StringToJson('{\"k\": [1, true]}')", {"k": [1, True]}),
        ("States.JsonToString($.obj)", '{"a":1}'),
        ("States.Array('a', 1, true, null, $.nested.x)", ["a", 1, True, None, {"y": 2}]),
        ("States.Array()", []),
        ("States.ArrayPartition($.items, 2)", [[3, 1], [3]]),
        ("States.ArrayContains($.items, 1)", True),
        ("States.ArrayContains($.items, 9)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.items, 1)", 1),
        ("States.ArrayLength($.items)", 3),
        ("States.ArrayUnique($.items)", [3, 1]),
        ("States.Base64Encode('hi there')", "aGkgdGhlcmU="),
        ("States.Base64Decode('aGkgdGhlcmU=')", "hi there"),
        ("States.Hash('abc', 'SHA-256')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("States.JsonMerge($.obj, States.StringToJson('{\"b\": 2}'), false)", {"a": 1, "b": 2}),
        ("States.MathAdd($.n, -6)", -2),
        ("States.StringSplit($.text, ',;')", ["a", "b", "c"]),
        ("States.ArrayLength(States.Array($.name, States.Array(1, 2)))", 2),
    ],
)
def test_intrinsics_compute_their_values(expression: str, expected: Any) -> None:
    """Each intrinsic returns the documented value, with path, context, literal and nested arguments."""
    assert evaluate(expression) == expected


def test_uuid_and_math_random_use_the_given_rng() -> None:
    """States.UUID and States.MathRandom are reproducible from the rng; MathRandom stays in [start, end)."""
    assert evaluate("States.UUID()") == evaluate("States.UUID()")
    assert len(evaluate("States.UUID()")) == 36
    assert all(1 <= evaluate(f"States.MathRandom(1, 5, {seed})") < 5 for seed in range(20))


@pytest.mark.parametrize(
    "expression",
    [
        "States.StringToJson('{oops')",
        "States.ArrayGetItem($.items, 5)",
        "States.MathAdd($.name, 1)",
        "States.ArrayLength($.missing)",
        "States.Base64Decode('***')",
        "States.Hash('x', 'CRC32')",
        "States.Format($.name, 1)",
        "States.ArrayRange(0, 5000, 1)",
    ],
)
def test_bad_arguments_raise_intrinsic_failure(expression: str) -> None:
    """Wrong types, missing paths and out-of-range values raise StatesError(States.IntrinsicFailure)."""
    with pytest.raises(StatesError) as caught:
        evaluate(expression)
    assert caught.value.error == "States.IntrinsicFailure"


@pytest.mark.parametrize(
    "expression",
    [
        "States.Unknown()",
        "States.UUID(1)",
        "States.Format('{}')",
        "States.Format('x', 1",
        "States.Array('unterminated)",
        "States.Array(1) trailing",
        "NotStates.Array()",
        "States.Array(@)",
    ],
)
def test_malformed_expressions_are_rejected_when_compiled(expression: str) -> None:
    """Unknown functions, wrong arity, placeholder mismatch and syntax errors are caught at load."""
    with pytest.raises(IntrinsicSyntaxError):
        compile_intrinsic(expression)
