"""The broker's own faults, injected by the runner through ``rabbitmqctl`` (``broker_control.py``): restart its app,
pause its publishers, take it down with publishes it has not read, close every connection of the run. Each waits
for its trigger and puts the broker back whatever happens to the run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import structlog

from scenarios.broker_control import BrokerControl
from scenarios.injectors import Trigger
from scenarios.run_state import Run
from scenarios.scenario import Need

log = structlog.get_logger()


@dataclass(frozen=True)
class RestartBroker:
    """``rabbitmqctl stop_app`` then ``start_app``: every connection drops, durable state survives."""

    needs: ClassVar[frozenset[Need]] = frozenset({Need.BROKER_CONTROL})
    when: Trigger = Trigger()
    down_s: float = 2.0

    async def inject(self, run: Run) -> None:
        control = run.broker_control()
        await self.when.wait(run)
        log.warning("fault: stopping the broker app")
        try:
            await control.stop_app()
            run.count("broker restart")
            await asyncio.sleep(self.down_s)  # the outage itself
        finally:
            # Whatever happens to this task, never leave the broker stopped.
            await asyncio.shield(control.start_app())


@dataclass(frozen=True)
class PauseBroker:
    """The broker blocks every publisher for a while (its memory alarm raised on purpose:
    ``set_vm_memory_high_watermark 0``), then lets them go: consumers keep receiving, nobody's publish is
    confirmed until the pause ends. The watermark is put back whatever happens to the run."""

    needs: ClassVar[frozenset[Need]] = frozenset({Need.BROKER_CONTROL})
    when: Trigger = Trigger()
    paused_s: float = 3.0

    async def inject(self, run: Run) -> None:
        control = run.broker_control()
        await self.when.wait(run)
        previous = await control.memory_watermark()
        log.warning("fault: blocking the broker's publishers", seconds=self.paused_s)
        try:
            await control.block_publishers()
            run.count("broker paused")
            await asyncio.sleep(self.paused_s)  # the pause itself
        finally:
            # Whatever happens to this task, never leave the broker refusing publishers.
            await asyncio.shield(control.unblock_publishers(previous))


@dataclass(frozen=True)
class CrashBrokerUnread:
    """The broker goes down with publishes it has not read: its publishers are blocked first (the memory alarm, as
    ``PauseBroker``), so for ``unread_s`` what they publish waits unread in the broker's sockets; then its app
    stops (every connection drops, and the unread frames with them) and starts again. With publisher confirms
    (``--durability strict``) none of those publishes was confirmed, so the outbox still holds them and sends them
    again; without (``light``) the outbox had marked them sent: they are lost. The watermark is put back and the
    app started whatever happens to the run."""

    needs: ClassVar[frozenset[Need]] = frozenset({Need.BROKER_CONTROL})
    when: Trigger = Trigger()
    unread_s: float = 2.0

    async def inject(self, run: Run) -> None:
        control = run.broker_control()
        previous = await control.memory_watermark()  # read before the trigger: rabbitmqctl is slow on a busy machine
        await self.when.wait(run)
        log.warning("fault: the broker stops reading its publishers, then goes down", unread_s=self.unread_s)
        try:
            await control.block_publishers()
            await asyncio.sleep(self.unread_s)  # publishes pile up unread
            await control.stop_app()
            run.count("broker down with unread publishes")
        finally:
            await asyncio.shield(self._back(control, previous))

    @staticmethod
    async def _back(control: BrokerControl, watermark: tuple[str, ...]) -> None:
        """Never leave the broker stopped or refusing publishers."""
        await control.start_app()
        await control.unblock_publishers(watermark)


@dataclass(frozen=True)
class CloseConnections:
    """The broker closes every connection of the run (``rabbitmqctl close_connection`` on each): every
    client must reconnect and carry on."""

    needs: ClassVar[frozenset[Need]] = frozenset({Need.BROKER_CONTROL})
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        control = run.broker_control()
        await self.when.wait(run)
        closed = await control.close_connections(run.options.namespace)
        run.count("connections closed")
        log.warning("fault: closed the run's connections", count=closed)
