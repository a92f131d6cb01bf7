"""Collects definition problems so that loading reports every one of them, not just the first."""

from __future__ import annotations


class Problems:
    """Problem messages shaped "State 'X': field 'F' <message>"."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, field: str, message: str) -> None:
        self.items.append(f"{where}: field '{field}' {message}")

    def note(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)
