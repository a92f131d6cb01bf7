"""Parser for intrinsic function calls such as `States.Format('Hello {}', $.name)`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .paths import InvalidPath, JsonPath, compile_path

_NAME = re.compile(r"States\.[A-Za-z0-9]+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_KEYWORDS = {"true": True, "false": False, "null": None}


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant argument; `raw` keeps a string literal's escapes (States.Format needs them)."""

    value: Any
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class PathArg:
    """An argument read from the effective input (`$...`) or the context object (`$$...`)."""

    path: JsonPath


@dataclass(frozen=True, slots=True)
class Call:
    """One intrinsic function call with its parsed arguments."""

    name: str
    args: tuple[Literal | PathArg | Call, ...]


Argument = Literal | PathArg | Call


def unescape(raw: str) -> str:
    """The value of a string literal: a backslash makes the next character literal."""
    return re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL)


def parse_call(text: str) -> Call:
    """Parse a whole intrinsic expression; raises IntrinsicSyntaxError."""
    parser = _Parser(text)
    call = parser.call()
    parser.skip_spaces()
    if parser.position != len(text):
        parser.fail("unexpected text after the closing parenthesis")
    return call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, message: str) -> None:
        raise IntrinsicSyntaxError(f"{message} at character {self.position} of {self.text!r}")

    def skip_spaces(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def call(self) -> Call:
        self.skip_spaces()
        match = _NAME.match(self.text, self.position)
        if match is None:
            self.fail("expected a function name such as States.Format")
        assert match is not None
        self.position = match.end()
        self.skip_spaces()
        if self.peek() != "(":
            self.fail("expected '('")
        self.position += 1
        return Call(match.group(0), self.arguments())

    def arguments(self) -> tuple[Argument, ...]:
        args: list[Argument] = []
        self.skip_spaces()
        if self.peek() == ")":
            self.position += 1
            return ()
        while True:
            args.append(self.argument())
            self.skip_spaces()
            separator = self.peek()
            self.position += 1
            if separator == ")":
                return tuple(args)
            if separator != ",":
                self.position -= 1
                self.fail("expected ',' or ')'")

    def argument(self) -> Argument:
        self.skip_spaces()
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.position):
            return self.call()
        number = _NUMBER.match(self.text, self.position)
        if number is not None:
            self.position = number.end()
            token = number.group(0)
            return Literal(float(token) if number.group(1) or number.group(2) else int(token))
        for word, value in _KEYWORDS.items():
            if self.text.startswith(word, self.position):
                self.position += len(word)
                return Literal(value)
        self.fail("expected an argument (string, number, boolean, null, path or function)")
        raise AssertionError("unreachable")

    def string(self) -> Literal:
        start = self.position + 1
        index = start
        while index < len(self.text):
            if self.text[index] == "\\":
                index += 2
                continue
            if self.text[index] == "'":
                raw = self.text[start:index]
                self.position = index + 1
                return Literal(unescape(raw), raw)
            index += 1
        self.fail("unterminated string literal")
        raise AssertionError("unreachable")

    def path(self) -> PathArg:
        start = self.position
        depth = 0
        quote = ""
        while self.position < len(self.text):
            char = self.text[self.position]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])" and depth > 0:
                depth -= 1
            elif char in ",)" and depth == 0:
                break
            self.position += 1
        try:
            return PathArg(compile_path(self.text[start : self.position].strip(), variables=True))
        except InvalidPath as exc:
            raise IntrinsicSyntaxError(str(exc)) from None
