"""``sagalab serve``: run one service as its own long-lived process until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import structlog

from scenarios.topologies import wiring
from shared import logging as sagalab_logging
from shared.config import Settings
from shared.runtime.handlers import DOMAIN_SERVICES
from shared.runtime.host import ServiceHost
from shared.runtime.ledger_query import answering_ledger_queries
from shared.runtime.publishers import PublisherCheck
from shared.transport.broker import Broker, BrokerUnavailable, safe_url

log = structlog.get_logger()


def ready_file(settings: Settings) -> os.PathLike[str]:
    suffix = f".{settings.instance}" if settings.instance else ""
    return settings.data_dir / f"{settings.service}{suffix}.ready"


async def build_host(settings: Settings, broker: Broker) -> ServiceHost:
    """The service's host, built by its mode's wiring, with the publisher check the service's settings ask for."""
    host = wiring(settings.mode).build(settings, broker)
    host.publishers = PublisherCheck.for_service(settings)
    if settings.service in DOMAIN_SERVICES:  # the oracle may ask any participant for its effects
        host.background = (*host.background, answering_ledger_queries(settings.service, settings.database_path(), broker))
    return host


async def connect_patiently(settings: Settings, wait_s: float) -> Broker:
    """Reach the broker, retrying for up to ``wait_s`` (a container starting beside its broker waits for it
    instead of crashing); then BrokerUnavailable as usual."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await Broker.connect(settings.amqp_url, settings.topology(), settings.service)
        except BrokerUnavailable:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for the broker", amqp_url=safe_url(settings.amqp_url))
            await asyncio.sleep(2.0)  # the broker is still starting


async def serve(settings: Settings, wait_for_broker_s: float = 0.0) -> None:
    sagalab_logging.configure(service=settings.service, mode=settings.mode, pid=os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = await connect_patiently(settings, wait_for_broker_s)
    host = await build_host(settings, broker)
    try:
        await host.start()
        ready = ready_file(settings)
        with open(ready, "w") as f:
            f.write(str(os.getpid()))
        log.info("ready", namespace=settings.namespace, unsafe=sorted(settings.unsafe), user=broker.user,
                 durability=settings.durability,
                 publisher_check=host.publishers.enabled)  # fmt: skip
        await stop.wait()
        log.info("stopping")
        await host.stop()
    finally:
        await broker.close()
        host.db.close()
    log.info("stopped")
