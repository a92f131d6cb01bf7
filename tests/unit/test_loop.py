"""The event loop services and relays run on: uvloop by default, the standard loop on request."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from shared.runtime.loop import loop_factory, run


def test_services_run_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SAGALAB_LOOP, ``run`` drives the coroutine on uvloop's loop."""
    monkeypatch.delenv("SAGALAB_LOOP", raising=False)

    async def which() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert run(which()) is uvloop.Loop


def test_sagalab_loop_asyncio_picks_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SAGALAB_LOOP=asyncio`` runs the standard loop (to measure what uvloop gives)."""
    monkeypatch.setenv("SAGALAB_LOOP", "asyncio")
    assert loop_factory() is None

    async def which() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert not issubclass(run(which()), uvloop.Loop)
