"""Where each key of a TOML file is written: ``tomllib`` gives values but no positions, so the scenario loader
scans the source for each table header, key and array item to name the line an error is about.

It reads the TOML a scenario file holds (tables, arrays of tables, dotted and quoted keys, inline tables and
arrays over several lines); a key it cannot place falls back to the line of the table around it."""

from __future__ import annotations

import re
from collections.abc import Sequence

Path_ = tuple[str | int, ...]

_KEY = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _keys(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def _without_strings(line: str) -> str:
    """The line with every string's content blanked (so a ``#``, ``[`` or ``=`` inside one counts for nothing) and
    its comment dropped; the length stays the same."""
    blanked = _STRING.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], line)
    return blanked.split("#", 1)[0]


class Positions:
    """Line numbers (from 1) of the paths a TOML document defines."""

    def __init__(self, source: str) -> None:
        self.lines: dict[Path_, int] = {}
        self._scan(source.splitlines())

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the longest part of ``path`` the file writes (1 when it writes none of it)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def _mark(self, path: Path_, line: int) -> None:
        self.lines.setdefault(path, line)

    def _scan(self, lines: list[str]) -> None:
        table: Path_ = ()
        arrays: dict[tuple[str, ...], int] = {}
        i = 0
        while i < len(lines):
            number, raw = i + 1, lines[i]
            text = _without_strings(raw)
            i += 1
            if header := _HEADER.match(text):
                keys = _keys(raw[header.start(2) : header.end(2)])  # the blanked text has the same length
                if header.group(1) == "[[":
                    arrays[keys] = arrays.get(keys, -1) + 1
                    table = (*keys, arrays[keys])
                    self._mark(keys, number)
                else:
                    table = keys
                for n in range(1, len(table) + 1):
                    self._mark(table[:n], number)
                continue
            assign = _ASSIGN.match(text)
            if not assign:
                continue
            path = (*table, *_keys(raw[assign.start(1) : assign.end(1)]))
            for n in range(len(table) + 1, len(path) + 1):
                self._mark(path[:n], number)
            value = text[assign.end() :]
            i = self._value(path, value, raw[assign.end() :], number, lines, i)

    def _value(self, path: Path_, value: str, raw: str, number: int, lines: list[str], i: int) -> int:
        """Mark the items of an inline table or array that starts on this line; return the next line to scan."""
        stripped = value.lstrip()
        if stripped.startswith("{"):
            for key in re.finditer(rf"[{{,]\s*({_KEY})\s*=", raw):
                self._mark((*path, *_keys(key.group(1))), number)
            return i
        if not stripped.startswith("["):
            if stripped.startswith(('"""', "'''")):
                while i < len(lines) and stripped[:3] not in lines[i]:
                    i += 1
                return i + 1
            return i
        depth, index, fresh = 0, 0, True
        line, text = number, value
        while True:
            for char in text:
                if char in "[{":
                    depth += 1
                    if depth == 2 and fresh:
                        self._mark((*path, index), line)
                        fresh = False
                    continue
                if char in "]}":
                    depth -= 1
                    if depth == 0:
                        return i
                    continue
                if depth == 1 and char == ",":
                    index, fresh = index + 1, True
                elif depth == 1 and fresh and not char.isspace():
                    self._mark((*path, index), line)
                    fresh = False
            if i >= len(lines):
                return i
            line, text = i + 1, _without_strings(lines[i])
            i += 1
