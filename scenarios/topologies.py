"""Which processes and queues each mode has, for the runner, the tap and the reports."""

from __future__ import annotations

from choreography import bootstrap as choreography_mode
from orchestration import bootstrap as orchestration_mode
from shared.config import Mode
from shared.transport.topology import QueueSpec


def services(mode: Mode) -> tuple[str, ...]:
    return choreography_mode.SERVICES if mode == "choreography" else orchestration_mode.SERVICES


def coordinator(mode: Mode) -> str:
    """The process that fronts the saga and records how each order ended."""
    return "orders" if mode == "choreography" else "orchestrator"


def queue_specs(mode: Mode) -> list[QueueSpec]:
    return choreography_mode.queue_specs() if mode == "choreography" else orchestration_mode.queue_specs()
