"""What every sample function shares: its call signature, how it fails, and the JavaScript quirks
(string concatenation, the publishers' ``hashCode``) the Node.js samples' results depend on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Invocation:
    """What a handler gets besides its event; the participant supplies it, so the functions stay pure."""

    request_id: str
    """The command's message id: the same for every retry of one visit to a state."""
    now: datetime
    random: float = 1.0
    """A draw in [0, 1), standing in for the ``Math.random()`` some publishers fail on; 1.0 never fails."""


class FunctionError(Exception):
    """A function that failed as the Lambda runtime reports it: ``errorType`` is what Retry/Catch match."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def cause(self) -> str:
        """Step Functions' ``Cause`` for a failed Lambda: the runtime's error document, as a JSON string."""
        return json.dumps({"errorMessage": self.message, "errorType": self.error_type})


Handler = Callable[[Any, Invocation], Any]
"""A function: the event (the task input) and the invocation in, the result document out; raises
``FunctionError`` when the publisher's function would fail."""


def js_error(message: str) -> FunctionError:
    """``throw new Error(message)`` in a Node.js Lambda: the error type is ``Error``."""
    return FunctionError("Error", message)


_MISSING = object()


def field(event: Any, *path: str) -> Any:
    """``event.a.b`` in JavaScript terms: missing anywhere along the way reads as ``undefined`` (``_MISSING``)."""
    value = event
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def defined(value: Any) -> bool:
    """``typeof value !== 'undefined'``."""
    return value is not _MISSING


def js_str(value: Any) -> str:
    """``'' + value``: how JavaScript turns a JSON value into a string when concatenating."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return "[object Object]" if isinstance(value, dict) else ",".join(js_str(v) for v in value)
    return str(value)


def hash_code(text: str) -> str:
    """The publishers' ``hashCode``/``hashIt``: ``h = Math.imul(31, h) + s.charCodeAt(i) | 0``, then
    ``'' + Math.abs(h)``; ``h`` starts undefined, so an empty string hashes to ``"NaN"``."""
    if not text:
        return "NaN"
    h = 0
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = _int32(_int32(31 * h) + int.from_bytes(units[i : i + 2], "little"))
    return str(abs(h))


def _int32(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n
