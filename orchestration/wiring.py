"""Orchestration's ``ModeWiring``: the orchestrator and the participants it commands, their queues and hosts."""

from __future__ import annotations

from typing import Final

from orchestration import processes
from shared.config import Mode, Settings
from shared.runtime.host import ServiceHost
from shared.transport.broker import Broker
from shared.transport.topology import QueueSpec


class OrchestrationWiring:
    """An orchestrator runs each order's execution; the participants answer its commands. The sample
    definitions' ``lambdas`` participant serves on demand (``sagalab serve lambdas``), never in a run."""

    mode: Final[Mode] = "orchestration"
    services: Final = processes.SERVICES
    coordinator: Final = "orchestrator"
    servable: Final = (*processes.SERVICES, *processes.SAMPLE_PARTICIPANTS)

    def queue_specs(self) -> list[QueueSpec]:
        return processes.queue_specs()

    def build(self, settings: Settings, broker: Broker) -> ServiceHost:
        if settings.service != "orchestrator":
            return processes.build_participant_process(settings, broker)
        # Imported here, not above: the interpreter, its store and JSONata are a third of a second of start-up
        # that only the orchestrator's own process needs, and a run (re)starts a participant many times.
        from orchestration import bootstrap

        return bootstrap.build(settings, broker)


ORCHESTRATION: Final = OrchestrationWiring()
