"""Which wiring each mode has, declared in one place; the processes and queues the runner, tap and reports read."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Final

from shared.config import MODES, Mode
from shared.runtime.wiring import ModeWiring
from shared.transport.topology import QueueSpec

WIRING_OF: Final[Mapping[Mode, str]] = {
    "choreography": "choreography.wiring:CHOREOGRAPHY",
    "orchestration": "orchestration.wiring:ORCHESTRATION",
}
"""The system of each mode, apart from its parts: adding a mode is adding its wiring here. Named, and imported when
first asked for, so that a service's process loads its own mode and not the other's."""


def wiring(mode: Mode) -> ModeWiring:
    module, name = WIRING_OF[mode].split(":")
    found: ModeWiring = getattr(importlib.import_module(module), name)
    return found


def wirings() -> list[ModeWiring]:
    """Every mode's wiring."""
    return [wiring(mode) for mode in MODES]


def services(mode: Mode) -> tuple[str, ...]:
    return wiring(mode).services


def coordinator(mode: Mode) -> str:
    """The process that fronts the saga and records how each order ended."""
    return wiring(mode).coordinator


def queue_specs(mode: Mode) -> list[QueueSpec]:
    return wiring(mode).queue_specs()
