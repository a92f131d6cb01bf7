"""Choreography's ``ModeWiring``: its four services, the order service as coordinator, their queues and hosts."""

from __future__ import annotations

from typing import Final

from choreography import bootstrap
from shared.config import Mode, Settings
from shared.runtime.host import ServiceHost
from shared.transport.broker import Broker
from shared.transport.topology import QueueSpec


class ChoreographyWiring:
    """Services that react to each other's events; the order service projects them into order states."""

    mode: Final[Mode] = "choreography"
    services: Final = bootstrap.SERVICES
    coordinator: Final = "orders"
    servable: Final = bootstrap.SERVICES

    def queue_specs(self) -> list[QueueSpec]:
        return bootstrap.queue_specs()

    def build(self, settings: Settings, broker: Broker) -> ServiceHost:
        return bootstrap.build(settings, broker)


CHOREOGRAPHY: Final = ChoreographyWiring()
