"""The event loop a long-running process runs on: uvloop unless ``SAGALAB_LOOP=asyncio`` says otherwise.

uvloop (libuv under asyncio's interface) spends less CPU per socket read, write and callback than the
standard loop. Every service and every relay of the bench's raw chain runs on it, so the bench compares
like with like; ``SAGALAB_LOOP=asyncio`` runs the standard loop (to measure what uvloop gives, or to debug).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop, or None for the standard one when ``SAGALAB_LOOP=asyncio`` asks for it."""
    return None if os.environ.get("SAGALAB_LOOP", "uvloop") == "asyncio" else uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the loop ``loop_factory`` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
