"""Which processes and queues each mode has, for the runner, the tap and the reports."""

from __future__ import annotations

from shared.config import Mode
from shared.transport.topology import QueueSpec


def services(mode: Mode) -> tuple[str, ...]:
    if mode == "choreography":
        from choreography.bootstrap import SERVICES
    else:
        from orchestration.bootstrap import SERVICES
    return SERVICES


def coordinator(mode: Mode) -> str:
    """The process that fronts the saga and records how each order ended."""
    return "orders" if mode == "choreography" else "orchestrator"


def queue_specs(mode: Mode) -> list[QueueSpec]:
    if mode == "choreography":
        from choreography.bootstrap import queue_specs as specs
    else:
        from orchestration.bootstrap import queue_specs as specs
    return specs()
