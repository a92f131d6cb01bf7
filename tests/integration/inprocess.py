"""Run a mode's services inside the test's own event loop, against the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sagalab.serve import build_host
from scenarios.runner import reset_namespace
from shared.config import Mode, Settings
from shared.runtime.host import ServiceHost
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.topology import Topology


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll with a deadline; fail with ``what`` if it never holds."""
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.01)  # poll with a deadline


@asynccontextmanager
async def services(
    mode: Mode, names: list[str], amqp_url: str, namespace: str, data_dir: Path, stock: dict[str, int] | None = None,
    unsafe: frozenset[str] = frozenset(),
) -> AsyncIterator[dict[str, ServiceHost]]:
    """Start the named services of a mode in-process; stop them and close their connections after."""
    client = await Broker.connect(amqp_url, Topology(namespace), "test")
    await reset_namespace(client, mode)
    await client.close()
    if stock is not None:
        db = Database(data_dir / "inventory.db", INVENTORY_SCHEMA)
        with db.transaction() as conn:
            stock_up(conn, stock)
        db.close()
    hosts: dict[str, ServiceHost] = {}
    try:
        for name in names:
            settings = Settings(service=name, mode=mode, amqp_url=amqp_url, namespace=namespace, data_dir=data_dir,
                                unsafe=unsafe)  # fmt: skip
            broker = await Broker.connect(amqp_url, Topology(namespace), name)
            hosts[name] = await build_host(settings, broker)
            await hosts[name].start()
        yield hosts
    finally:
        for host in hosts.values():
            await host.stop()
            await host.broker.close()
            host.db.close()
