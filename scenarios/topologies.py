"""Which wiring each mode has, declared in one place; the processes and queues the runner, tap and reports read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from choreography.wiring import CHOREOGRAPHY
from orchestration.wiring import ORCHESTRATION
from shared.config import Mode
from shared.runtime.wiring import ModeWiring
from shared.transport.topology import QueueSpec

WIRINGS: Final[Mapping[Mode, ModeWiring]] = {"choreography": CHOREOGRAPHY, "orchestration": ORCHESTRATION}
"""The system of each mode, apart from its parts: adding a mode is adding its wiring here."""


def wiring(mode: Mode) -> ModeWiring:
    return WIRINGS[mode]


def services(mode: Mode) -> tuple[str, ...]:
    return WIRINGS[mode].services


def coordinator(mode: Mode) -> str:
    """The process that fronts the saga and records how each order ended."""
    return WIRINGS[mode].coordinator


def queue_specs(mode: Mode) -> list[QueueSpec]:
    return WIRINGS[mode].queue_specs()
