"""structlog set-up: JSON lines when not on a terminal, readable lines on one; context bound per delivery."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import structlog


def _orjson_text(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


class _UtcTimeStamper:
    """structlog's ``TimeStamper(fmt="iso", utc=True)``, same text (``2026-01-02T03:04:05.678901Z``, no fraction
    at a whole second, as ``isoformat`` does), with the date and time formatted once a second instead of once a
    line: a busy service logs a line per message."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._second = -1
        self._prefix = ""

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        second, ns = divmod(self._clock(), 1_000_000_000)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).isoformat().removesuffix("+00:00")
            self._second = second
        us = ns // 1000
        event["timestamp"] = f"{self._prefix}.{us:06d}Z" if us else f"{self._prefix}Z"
        return event


def configure(level: str = "INFO", stream: TextIO | None = None, json: bool | None = None, **context: Any) -> None:
    """Configure structlog once per process; ``context`` (service, mode) is added to every line, and each
    delivery binds its own (correlation_id, message_type) as contextvars."""
    stream = stream or sys.stderr
    use_json = (not stream.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_text) if use_json else structlog.dev.ConsoleRenderer()
    )

    def add_static(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {**context, **event}

    structlog.configure(
        processors=[
            add_static,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _UtcTimeStamper(),
            structlog.processors.format_exc_info if use_json else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
