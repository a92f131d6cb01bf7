"""The raw chain: a plain aio-pika relay with a saga's hop count, the bar ``sagalab bench`` measures against.

Each relay process consumes its own queue (the sagas' queue arguments: quorum under ``strict`` durability,
classic under ``light``) with manual acks and a bounded prefetch. For each delivery it publishes the next hop
persistently, with ``mandatory``, and acks the delivery once the broker confirmed that publish (``strict``) or
once it is written (``light``: no confirms, as the services run then). The process at the
end of the route records the order in a SQLite ``orders(order_id, placed_at, settled_at)`` table, committed
before the ack, as a saga's coordinator does, so the same driver measures both.

It carries the sagas' guarantees and nothing else, as cheaply as aio-pika allows:

- one connection per process, one consuming channel and one confirming publish channel, opened once;
- the hot path talks to aio-pika's own aiormq channels: no ``Message``/``IncomingMessage`` wrapper, no
  exchange lookup, no per-message channel work;
- the delivery's properties are reused for the next hop (only ``type`` and ``message_id`` change);
- confirms are pipelined: every delivery in flight awaits its own confirm concurrently, and the broker
  confirms many at once;
- acks are collected per event-loop turn and sent as one ``multiple`` ack over the settled run of tags
  (``acks.py``, the same batching the services use);
- completions are group-committed once per event-loop turn.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import aio_pika
import aiormq
from aiormq.abc import DeliveredMessage

from shared.transport.acks import BatchedAcks
from shared.transport.failover import failover_order, split_urls
from shared.transport.topology import Durability, QueueSpec, Topology

RAW_ORDERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, placed_at REAL NOT NULL, settled_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS orders_settled ON orders (settled_at);
"""
PLACED_HEADER = "x-placed-us"


@dataclass(frozen=True)
class Chain:
    """A route of relay roles, one entry per message: ``route[i]`` consumes the i-th message of an order."""

    name: str
    route: tuple[str, ...]

    @property
    def roles(self) -> tuple[str, ...]:
        """Each role once, in order of first appearance: one process (or K competing ones) per role."""
        return tuple(dict.fromkeys(self.route))

    @property
    def hops(self) -> int:
        return len(self.route)

    def spec(self, role: str) -> QueueSpec:
        return QueueSpec(f"raw-{self.name}", (), suffix=role)

    def queue(self, topology: Topology, role: str) -> str:
        return topology.queue(self.spec(role))


def node_of(url: str, role: str) -> str:
    """The node a relay connects to when ``url`` names a cluster: the one a service of that role starts on."""
    return failover_order(split_urls(url), role)[0]


async def declare(url: str, topology: Topology, chain: Chain) -> None:
    """Delete and declare the chain's queues, so a run starts from empty queues of the topology's type."""
    connection = await aio_pika.connect(node_of(url, "runner"))
    async with connection:
        channel = await connection.channel()
        for role in chain.roles:
            await channel.queue_delete(chain.queue(topology, role))
            await channel.declare_queue(chain.queue(topology, role), durable=True,
                                        arguments=topology.queue_arguments_for(chain.spec(role)))  # fmt: skip


async def delete(url: str, topology: Topology, chain: Chain) -> None:
    connection = await aio_pika.connect(node_of(url, "runner"))
    async with connection:
        channel = await connection.channel()
        for role in chain.roles:
            await channel.queue_delete(chain.queue(topology, role))


class Placer:
    """The client end: publishes an order's first message, persistent and confirmed, to ``route[0]``."""

    def __init__(self, connection: aio_pika.abc.AbstractConnection, channel: aiormq.Channel,
                 queue: str) -> None:  # fmt: skip
        self._connection = connection
        self._channel = channel
        self._queue = queue

    @classmethod
    async def connect(cls, url: str, topology: Topology, chain: Chain) -> Placer:
        connection = await aio_pika.connect(node_of(url, "runner"), client_properties={"connection_name": "raw-chain:placer"})
        channel = await connection.channel(publisher_confirms=topology.confirms, on_return_raises=topology.confirms)
        return cls(connection, cast(aiormq.Channel, await channel.get_underlay_channel()),
                   chain.queue(topology, chain.route[0]))

    async def place(self, order_id: str, body: bytes) -> None:
        properties = aiormq.spec.Basic.Properties(
            delivery_mode=2, content_type="application/json", message_type="0", message_id=f"{order_id}.0",
            correlation_id=order_id, headers={PLACED_HEADER: time.time_ns() // 1000},
        )  # fmt: skip
        confirmation = await self._channel.basic_publish(body, routing_key=self._queue, properties=properties,
                                                         mandatory=True, wait=False)  # fmt: skip
        if confirmation is None and not self._channel.publisher_confirms:
            return  # light: written, nothing to wait for
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise aiormq.exceptions.DeliveryError(None, confirmation)  # type: ignore[arg-type]

    async def close(self) -> None:
        await self._connection.close()


class _Recorder:
    """The end of the route: group-commits settled orders once per event-loop turn, then acks them."""

    def __init__(self, path: Path, acker: BatchedAcks) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # as the services' databases
        self._conn.executescript(RAW_ORDERS_SCHEMA)
        self._acker = acker
        self._rows: list[tuple[str, float, float]] = []
        self._tags: list[int] = []

    def record(self, order_id: str, placed_us: int, tag: int) -> None:
        if not self._rows:
            asyncio.get_running_loop().call_soon(self._commit)
        self._rows.append((order_id, placed_us / 1e6, time.time()))
        self._tags.append(tag)

    def _commit(self) -> None:
        rows, tags, self._rows, self._tags = self._rows, self._tags, [], []
        if not rows:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany("INSERT OR IGNORE INTO orders VALUES (?, ?, ?)", rows)
        self._conn.execute("COMMIT")
        for tag in tags:
            self._acker.ack(tag)

    def close(self) -> None:
        self._commit()
        self._conn.close()


class Relay:
    """One relay process's consumer: forward each delivery to the next role, or record it at the end."""

    def __init__(self, topology: Topology, chain: Chain, role: str, consume: aiormq.Channel,
                 publish: aiormq.Channel, recorder_path: Path | None) -> None:  # fmt: skip
        self.role = role
        self._chain = chain
        self._queues = [chain.queue(topology, r) for r in chain.route]
        self._types = [str(i) for i in range(chain.hops)]
        self._consume = consume
        self._publish = publish
        self._acker = BatchedAcks(consume)
        last_is_mine = chain.route[-1] == role
        self._recorder = _Recorder(recorder_path, self._acker) if last_is_mine and recorder_path else None
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def on_delivery(self, message: DeliveredMessage) -> None:
        tag = int(message.delivery.delivery_tag or 0)  # type: ignore[union-attr]
        self._acker.received(tag)
        self.in_flight += 1
        self.idle.clear()
        try:
            await self._handle(message, tag)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()

    async def _handle(self, message: DeliveredMessage, tag: int) -> None:
        properties = message.header.properties
        kind = properties.message_type or ""
        hop = int(kind) if kind.isdigit() else -1
        last = self._chain.hops - 1
        if not 0 <= hop <= last or self._chain.route[hop] != self.role or (hop == last and not self._recorder):
            self._acker.nack(tag, requeue=False)  # not a message of this chain for this role: dead-letter it
            return
        if hop == last and self._recorder is not None:
            headers = properties.headers or {}
            self._recorder.record(properties.correlation_id or "", int(headers.get(PLACED_HEADER, 0)), tag)  # type: ignore[arg-type]
            return
        properties.message_type = self._types[hop + 1]
        properties.message_id = f"{properties.correlation_id}.{hop + 1}"
        try:
            confirmation = await self._publish.basic_publish(message.body, routing_key=self._queues[hop + 1],
                                                             properties=properties, mandatory=True, wait=False)  # fmt: skip
        except (aiormq.exceptions.AMQPError, ConnectionError):
            self._acker.nack(tag, requeue=True)  # the channel died: let the broker deliver it again
            return
        unconfirmed = confirmation is None and not self._publish.publisher_confirms  # light: nothing to wait for
        if unconfirmed or isinstance(confirmation, aiormq.spec.Basic.Ack):
            self._acker.ack(tag)
        else:  # nacked or returned: let the broker deliver it again
            self._acker.nack(tag, requeue=True)

    async def close(self) -> None:
        """Commit what is recorded, hand the last settlements to the connection, close the database."""
        if self._recorder is not None:
            self._recorder.close()
        await self._acker.drain()


async def serve_relay(url: str, namespace: str, chain: Chain, role: str, data_dir: Path, ready: Path,
                      prefetch: int = 128, durability: Durability = "strict") -> None:  # fmt: skip
    """Run one relay process until SIGTERM or SIGINT: consume, forward, record; then drain and close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    topology = Topology(namespace, durability=durability)
    connection = await aio_pika.connect(node_of(url, role), client_properties={"connection_name": f"{namespace}:raw:{role}"})
    try:
        consume = cast(aiormq.Channel, await (await connection.channel(publisher_confirms=False)).get_underlay_channel())
        confirms = topology.confirms
        publish = cast(aiormq.Channel, await (await connection.channel(publisher_confirms=confirms,
                                                                       on_return_raises=confirms)).get_underlay_channel())
        await consume.basic_qos(prefetch_count=prefetch)
        relay = Relay(topology, chain, role, consume, publish, data_dir / f"raw-{chain.name}.db")
        consumer = await consume.basic_consume(chain.queue(topology, role), relay.on_delivery)
        ready.write_text(str(role))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopping, consume.closing, publish.closing], return_when=asyncio.FIRST_COMPLETED)
        if not stopping.done():  # a channel died: exit, so the bench sees a dead relay instead of a stall
            stopping.cancel()
            raise RuntimeError(f"raw relay {role}: a channel closed under it")
        await consume.basic_cancel(consumer.consumer_tag or "")
        try:
            await asyncio.wait_for(relay.idle.wait(), timeout=10)
        except TimeoutError:
            pass  # unacked deliveries go back to the queue when the connection closes
        await relay.close()
    finally:
        await connection.close()


async def server_version(url: str) -> str:
    """The broker's product and version as it announces them (for the bench's record of the machine)."""
    connection = await aio_pika.connect(node_of(url, "runner"))
    async with connection:
        properties = connection.transport.connection.server_properties  # type: ignore[union-attr]
        product, version = (properties.get(k, "?") for k in ("product", "version"))
        return " ".join(v.decode() if isinstance(v, bytes) else str(v) for v in (product, version))
