"""Orchestration's ``ModeWiring``: the orchestrator and the participants it commands, their queues and hosts."""

from __future__ import annotations

from typing import Final

from orchestration import bootstrap
from shared.config import Mode, Settings
from shared.runtime.host import ServiceHost
from shared.transport.broker import Broker
from shared.transport.topology import QueueSpec


class OrchestrationWiring:
    """An orchestrator runs each order's execution; the participants answer its commands. The sample
    definitions' ``lambdas`` participant serves on demand (``sagalab serve lambdas``), never in a run."""

    mode: Final[Mode] = "orchestration"
    services: Final = bootstrap.SERVICES
    coordinator: Final = "orchestrator"
    servable: Final = (*bootstrap.SERVICES, *bootstrap.SAMPLE_PARTICIPANTS)

    def queue_specs(self) -> list[QueueSpec]:
        return bootstrap.queue_specs()

    def build(self, settings: Settings, broker: Broker) -> ServiceHost:
        return bootstrap.build(settings, broker)


ORCHESTRATION: Final = OrchestrationWiring()
