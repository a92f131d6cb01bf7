"""structlog set-up: JSON lines when not on a terminal, readable lines on one; context bound per delivery."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog


def _orjson_text(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


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
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info if use_json else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
