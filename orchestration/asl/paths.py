"""Compiled JSONPath readers (jsonpath-ng, with a fast lane for plain reference paths) and ResultPath writing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jsonpath_ng import jsonpath as ast
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

Segment = str | int
ContextSource = Callable[[], Any]

_NAME = r"[A-Za-z_][\w\-]*"
# `$name...` reads the workflow variable `name` (then an ordinary path inside it); `$$` and `$.`/`$[` do not.
_VARIABLE = re.compile(r"\$([^\W\d]\w*)")
_STEP = re.compile(rf"\.({_NAME})|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]|\[(\d+)\]")


class InvalidPath(ValueError):
    """The text is not a path of the required kind."""


class PathNotFound(LookupError):
    """A definite path selected nothing in the document."""


class ResultPathMismatch(ValueError):
    """A ResultPath cannot be applied to the state's input."""


def _reference_segments(text: str) -> tuple[Segment, ...] | None:
    """The steps of a plain reference path (`$.a['b'][0]`), or None if it is not one."""
    if not text.startswith("$"):
        return None
    segments: list[Segment] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            return None
        name, single, double, index = match.groups()
        if index is not None:
            segments.append(int(index))
        else:
            raw = next(part for part in (name, single, double) if part is not None)
            segments.append(re.sub(r"\\(.)", r"\1", raw))
        position = match.end()
    return tuple(segments)


def _is_definite(node: ast.JSONPath) -> bool:
    """Whether a jsonpath-ng expression can select at most one node."""
    if isinstance(node, (ast.Root, ast.This)):
        return True
    if isinstance(node, ast.Fields):
        return len(node.fields) == 1 and node.fields[0] != "*"
    if isinstance(node, ast.Index):
        return len(getattr(node, "indices", (0,))) == 1
    if isinstance(node, ast.Child):
        return _is_definite(node.left) and _is_definite(node.right)
    return False


def variables_of(context: ContextSource | None) -> Any:
    """The workflow variables a context source carries (the interpreter's scope has them), else none."""
    return getattr(context, "variables", None)


def variable_name(text: str) -> str | None:
    """The variable a `$name...` path reads, or None when the path reads the document or the context."""
    match = _VARIABLE.match(text)
    return match.group(1) if match is not None else None


class JsonPath:
    """A compiled Path; `$$...` paths read the context object, `$name...` the workflow variable `name`."""

    __slots__ = ("text", "definite", "on_context", "variable", "segments", "_expression")

    def __init__(self, text: str) -> None:
        self.text = text
        self.on_context = text.startswith("$$")
        self.variable = variable_name(text)
        body = text[1:] if self.on_context else text
        if self.variable is not None:
            body = "$" + text[1 + len(self.variable) :]
        self.segments = _reference_segments(body)
        self._expression: ast.JSONPath | None = None
        if self.segments is None:
            try:
                self._expression = parse_jsonpath(body)
            except (JsonPathLexerError, JsonPathParserError, Exception) as exc:  # ply raises bare Exception too
                raise InvalidPath(f"'{text}' is not a valid JSONPath ({exc})") from None
        self.definite = self._expression is None or _is_definite(self._expression)

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    def read(self, document: Any, context: ContextSource | None = None) -> Any:
        """The selected value (a list for indefinite paths); raises PathNotFound if a definite path misses."""
        if self.variable is not None:
            variables = variables_of(context)
            if variables is None or self.variable not in variables:
                raise PathNotFound(self.text)
            target = variables[self.variable]
        else:
            target = context() if self.on_context and context is not None else document
        if self.segments is not None:
            return _walk(target, self.segments, self.text)
        assert self._expression is not None
        found = self._expression.find(target)
        if not self.definite:
            return [match.value for match in found]
        if not found:
            raise PathNotFound(self.text)
        return found[0].value


def _walk(value: Any, segments: tuple[Segment, ...], text: str) -> Any:
    for segment in segments:
        if isinstance(segment, str):
            if not isinstance(value, dict) or segment not in value:
                raise PathNotFound(text)
            value = value[segment]
        else:
            if not isinstance(value, list) or segment >= len(value):
                raise PathNotFound(text)
            value = value[segment]
    return value


def compile_path(text: Any, variables: bool = False) -> JsonPath:
    """Compile a Path (JSONPath, `$` or `$$` rooted, or `$name` rooted where `variables` may be read);
    raises InvalidPath."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise InvalidPath(f"{text!r} is not a JSONPath starting with '$'")
    if not variables and variable_name(text) is not None:
        raise InvalidPath(f"'{text}' reads a variable, which this field cannot (only Parameters, ResultSelector, "
                          "Assign, Choice Rules and intrinsic functions can)")  # fmt: skip
    return JsonPath(text)


def compile_reference_path(text: Any) -> JsonPath:
    """Compile a Reference Path (a single node, names and indices only); raises InvalidPath."""
    if not isinstance(text, str) or text.startswith("$$") or _reference_segments(text) is None:
        raise InvalidPath(f"{text!r} is not a valid Reference Path")
    return JsonPath(text)


class ResultPath:
    """Where a state's result is put in its raw input: `$` replaces, None (JSON null) discards."""

    __slots__ = ("text", "segments")

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.segments: tuple[Segment, ...] | None = None
        if text is not None:
            self.segments = compile_reference_path(text).segments

    def apply(self, raw_input: Any, result: Any) -> Any:
        """A new document; only the containers along the path are copied, `raw_input` is untouched."""
        if self.segments is None:
            return raw_input
        if not self.segments:
            return result
        return _put(raw_input, self.segments, 0, result, self.text or "$")


def _put(node: Any, segments: tuple[Segment, ...], depth: int, value: Any, text: str) -> Any:
    segment = segments[depth]
    last = depth == len(segments) - 1
    if isinstance(segment, str):
        if not isinstance(node, dict):
            raise ResultPathMismatch(f"'{text}' needs an object where the input has {_kind(node)}")
        copied = dict(node)
        child = node.get(segment, {})
        copied[segment] = value if last else _put(child, segments, depth + 1, value, text)
        return copied
    if not isinstance(node, list) or segment >= len(node):
        raise ResultPathMismatch(f"'{text}' needs an array with index {segment} where the input has {_kind(node)}")
    copied_list = list(node)
    copied_list[segment] = value if last else _put(node[segment], segments, depth + 1, value, text)
    return copied_list


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "null" if value is None else f"a {type(value).__name__}"


ROOT = compile_path("$")
