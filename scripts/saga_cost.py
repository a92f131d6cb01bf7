"""What sagalab's own code costs per saga, without a broker: every service's host, store and logic in one process.

The mode's real service hosts (the same ``build`` the processes use) run on SQLite files; an in-memory exchange
stands in for RabbitMQ, routing each published message to the queues whose bindings match it, and hands it to
the host's delivery handler as a delivery with the same properties; 10% of the orders are out of stock. What is
printed is CPU time of this process per saga, by service, so a change to the hosts, stores or interpreter can be
measured apart from AMQP and with less of the machine's noise (``sagalab bench`` measures the whole).

``.venv/bin/python scripts/saga_cost.py [ORDERS] [MODE] [WORKFLOW] [C]``: the mode is orchestration (the default) or
choreography, the workflow standard (the default) or express, and C the orders sent at once (default 1: one at a
time; more: their messages travel in waves whose deliveries commit in groups, as under load).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from choreography.bootstrap import build as choreography_build
from orchestration.bootstrap import build as orchestration_build
from sagalab.bench.plan import IN_STOCK_SKU, OUT_OF_STOCK_SKU, bench_orders
from shared.config import Settings
from shared.domain.contracts import PlaceOrder
from shared.logging import configure
from shared.runtime.handlers import DOMAIN_SERVICES, SCHEMAS
from shared.runtime.host import ServiceHost
from shared.stores.business import stock_up
from shared.stores.sqlite import Database
from shared.transport.delivery import Delivery
from shared.transport.topology import QueueSpec, key_matches
from shared.transport.wire import Outgoing


class MemoryDelivery(Delivery):
    """An ``Outgoing`` as a consumer would receive it."""

    def __init__(self, out: Outgoing, queue: str) -> None:
        super().__init__(queue, "")
        self.out = out

    type = property(lambda self: self.out.type)
    message_id = property(lambda self: self.out.message_id)
    correlation_id = property(lambda self: self.out.correlation_id)
    content_type = property(lambda self: "application/json")
    body = property(lambda self: self.out.body)
    headers = property(lambda self: dict(self.out.headers))
    reply_to = property(lambda self: self.out.reply_to)
    sender = property(lambda self: None)
    user_id = property(lambda self: None)
    redelivered = property(lambda self: False)
    exchange = property(lambda self: self.out.exchange)
    routing_key = property(lambda self: self.out.routing_key)

    async def _ack(self) -> None:
        return None

    async def _requeue(self) -> None:
        raise RuntimeError(f"{self.out.type} requeued: a handler failed")

    async def _reject(self) -> None:
        raise RuntimeError(f"{self.out.type} rejected")


class MemoryExchange:
    """The broker's part: publish queues a delivery for every matching queue; ``drain`` hands them over."""

    def __init__(self) -> None:
        self.queues: list[tuple[QueueSpec, Any, str]] = []  # (queue, handler, service)
        self.pending: deque[tuple[Outgoing, QueueSpec, Any, str]] = deque()
        self.published: Counter[str] = Counter()

    def bind(self, host: ServiceHost) -> None:
        for sub in host.subscriptions:
            self.queues.append((sub.queue, host._handler_for(sub), host.service))

    async def publish(self, out: Outgoing) -> None:
        """Route it; then give the loop a turn, as a publish awaiting its confirm does (so that, under load, other
        deliveries reach their commit meanwhile and share a group transaction)."""
        self.published[out.type] += 1
        for queue, handler, service in self.queues:
            if any(b.exchange == out.exchange and key_matches(b.routing_key, out.routing_key) for b in queue.bindings):
                self.pending.append((out, queue, handler, service))
        await asyncio.sleep(0)

    async def drain(self, cpu: Counter[str]) -> None:
        """One delivery at a time until nothing is left, each charged to its service."""
        while self.pending:
            out, queue, handler, service = self.pending.popleft()
            started = time.process_time()
            await handler(MemoryDelivery(out, queue.service))
            cpu[service] += time.process_time() - started

    async def drain_in_waves(self, cpu: Counter[str]) -> None:
        """Everything pending at once, wave after wave, until nothing is left: the deliveries of a wave reach their
        service's commit in the same loop turn and share its group transaction, as under load. A wave's CPU is
        shared among its services by their number of deliveries in it."""
        while self.pending:
            wave, self.pending = list(self.pending), deque()
            started = time.process_time()
            await asyncio.gather(*(handler(MemoryDelivery(out, queue.service)) for out, queue, handler, _ in wave))
            spent = time.process_time() - started
            for _, _, _, service in wave:
                cpu[service] += spent / len(wave)


@dataclass
class Cost:
    cpu_ms: dict[str, float]
    """CPU time of this process per saga, by the service whose delivery it was spent on."""
    published: Counter[str]
    """Messages published, by type (warm-up orders included)."""
    outcomes: Counter[str]
    """How the measured and warm-up orders ended, as their coordinator recorded them."""

    @property
    def total_ms(self) -> float:
        return sum(self.cpu_ms.values())


async def measure(orders: int, mode: str, workflow: str = "standard", warm: int = 50, concurrency: int = 1) -> Cost:
    """Run ``warm`` orders, then ``orders`` more, through the mode's real service hosts: one at a time, or
    ``concurrency`` at once, whose messages then travel in waves (``drain_in_waves``)."""
    assert warm % concurrency == 0 and orders % concurrency == 0, "whole batches of orders only"
    configure(stream=open(os.devnull, "w"), json=True, mode=mode)  # every line is still built and written
    data = Path(tempfile.mkdtemp()) / "data"
    exchange = MemoryExchange()
    services = ("orchestrator", *DOMAIN_SERVICES) if mode == "orchestration" else ("orders", *DOMAIN_SERVICES)
    build = orchestration_build if mode == "orchestration" else choreography_build
    sample = bench_orders(orders + warm, 0.1, 7, "cost")
    inventory = Database(data / "inventory.db", SCHEMAS["inventory"])
    stock_up(inventory.conn, {IN_STOCK_SKU: len(sample), OUT_OF_STOCK_SKU: 0})
    inventory.close()
    hosts = []
    for service in services:
        settings = Settings(service=service, mode=mode, data_dir=data, options={"workflow": workflow})  # type: ignore[arg-type]
        host = build(settings, exchange)  # type: ignore[arg-type]
        exchange.bind(host)
        hosts.append(host)
    cpu: Counter[str] = Counter()
    for i in range(0, len(sample), concurrency):
        if i == warm:
            cpu.clear()  # caches filled, statements prepared
        for order in sample[i : i + concurrency]:
            placed = PlaceOrder(correlation_id=order.order_id, order=order)
            await exchange.publish(Outgoing.command(placed, "orders", None))
        await (exchange.drain(cpu) if concurrency == 1 else exchange.drain_in_waves(cpu))
    coordinator = hosts[0].db.conn
    outcomes = Counter(dict(coordinator.execute("SELECT status, COUNT(*) FROM orders GROUP BY status").fetchall()))
    for host in hosts:
        host.db.close()
    return Cost({s: cpu[s] * 1000 / orders for s in sorted(cpu)}, exchange.published, outcomes)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    mode = sys.argv[2] if len(sys.argv) > 2 else "orchestration"
    workflow = sys.argv[3] if len(sys.argv) > 3 else "standard"
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    cost = asyncio.run(measure(n, mode, workflow, warm=max(50, concurrency), concurrency=concurrency))
    label = (f"{mode} {workflow}" if mode == "orchestration" else mode) + f", C={concurrency}"
    print(
        f"{label}: {n} orders, CPU ms per saga "
        + " ".join(f"{s} {ms:.3f}" for s, ms in cost.cpu_ms.items())
        + f"  total {cost.total_ms:.3f}  ({dict(cost.outcomes)})"
    )
