"""The ``ModeWiring`` protocol: what a mode declares so the lab and the tool can run it without knowing it."""

from __future__ import annotations

from typing import Protocol

from shared.config import Mode, Settings
from shared.runtime.host import ServiceHost
from shared.transport.broker import Broker
from shared.transport.topology import QueueSpec


class ModeWiring(Protocol):
    """One mode's system, declared apart from its parts (eventsourcing's ``System``): choreography and
    orchestration each implement it once, and ``scenarios/topologies.py`` maps each mode to its wiring."""

    @property
    def mode(self) -> Mode: ...

    @property
    def services(self) -> tuple[str, ...]:
        """The processes a run of this mode starts."""
        ...

    @property
    def coordinator(self) -> str:
        """The process that fronts the saga and records how each order ended (its database is the verdict's)."""
        ...

    @property
    def servable(self) -> tuple[str, ...]:
        """Every service ``sagalab serve`` can run in this mode: the run's, and any that only serve on demand."""
        ...

    def queue_specs(self) -> list[QueueSpec]:
        """Every queue of this mode, for the runner to declare and the tap to name receivers by."""
        ...

    def build(self, settings: Settings, broker: Broker) -> ServiceHost:
        """One process of this mode (``settings.service``), ready to start."""
        ...
