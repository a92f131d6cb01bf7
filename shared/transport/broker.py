"""A robust, confirmed connection to RabbitMQ: declare, publish with confirms, consume with manual acks.

Consuming and publishing go through a ``Transport`` (``plain.py`` by default, ``fast.py`` opt-in); the broker
holds the connection and the topology and is all the service host sees."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import time
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)
from yarl import URL

from shared.domain.contracts import MAX_MESSAGE_BYTES
from shared.transport.adapter import Consumer, DeliveryHandler, Properties, PublishFailed, Transport
from shared.transport.dead_letter import USER_ID, DeadLetter
from shared.transport.delivery import Delivery
from shared.transport.failover import FAILOVER_RECONNECT_S, FailoverConnection, failover_order, split_urls
from shared.transport.fast import FastTransport
from shared.transport.observed import Observed
from shared.transport.plain import PlainTransport
from shared.transport.topology import EXCHANGE_KINDS, Binding, QueueSpec, Topology
from shared.transport.wire import ExchangeKind, Outgoing

log = structlog.get_logger()


def safe_url(url: str) -> str:
    """The URL with its password masked, fit for a message."""
    return ",".join(str(URL(u).with_password("***")) if URL(u).password else u for u in url.split(","))


def why_not_connected(exc: BaseException, waited_s: float) -> str:
    """What went wrong, in words (an exception's own text can be empty: a timeout has none)."""
    if isinstance(exc, TimeoutError):
        return (f"timed out after {waited_s:.0f} s waiting for the AMQP handshake: the port accepts connections but "
                "nothing there speaks AMQP (a broker out of file handles, or another program)")
    return str(exc) or type(exc).__name__


class BrokerUnavailable(Exception):
    """RabbitMQ cannot be reached; the message says how to get one."""

    def __init__(self, url: str, reason: object) -> None:
        safe = safe_url(url)
        super().__init__(
            f"cannot reach RabbitMQ at {safe} ({reason}).\n"
            "Start one with `rabbitmq-server -detached` (Debian package rabbitmq-server) or "
            "`docker compose up -d rabbitmq`, or point --amqp-url / AMQP_URL at a running broker."
        )


class BrokerRefused(BrokerUnavailable):
    """RabbitMQ answers but refuses the login: a wrong user or password (ACCESS_REFUSED), or a vhost the user
    may not use or that does not exist (NOT_ALLOWED). Retrying does not help; the URL must change."""

    def __init__(self, url: str, reason: object) -> None:
        parsed = URL(url.split(",")[0])
        Exception.__init__(
            self,
            f"RabbitMQ at {parsed.host}:{parsed.port or 5672} refused user {parsed.user or 'guest'!r} on vhost "
            f"{parsed.path[1:] or '/'!r} ({reason}): check the user, password and vhost (the URL's path) of "
            "--amqp-url / AMQP_URL",
        )


def _refusal(exc: BaseException) -> str | None:
    """Why the broker refused the login, or None when the failure is not a refusal."""
    if isinstance(exc, aiormq.exceptions.ProbableAuthenticationError):
        return str(exc.args[0] if exc.args else "ACCESS_REFUSED")
    if isinstance(exc, aiormq.exceptions.AMQPError) and "got <Connection.Close" in str(exc):
        return "NOT_ALLOWED: the broker closed the connection when it was asked for the vhost"
    return None


async def _connect(urls: tuple[str, ...], timeout: float, properties: dict[str, Any]) -> AbstractRobustConnection:
    """A robust connection to the first URL that answers; with several, one that fails over (``failover.py``)."""
    reason = ""
    for at, url in enumerate(urls):
        slow = asyncio.get_running_loop().call_later(
            2.0, functools.partial(log.warning, "still connecting to RabbitMQ", url=safe_url(url), timeout_s=timeout))
        started = time.monotonic()
        try:
            if len(urls) == 1:
                return await aio_pika.connect_robust(url, timeout=timeout, client_properties=properties)
            connection = FailoverConnection(URL(url), urls=urls[at:] + urls[:at], client_properties=properties,
                                            reconnect_interval=FAILOVER_RECONNECT_S)  # fmt: skip
            await connection.connect(timeout=timeout)
            return connection
        except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
            if (refused := _refusal(exc)) is not None:
                raise BrokerRefused(url, refused) from None
            reason = why_not_connected(exc, time.monotonic() - started)
            if len(urls) > 1:
                log.warning("node unavailable, trying the next", url=safe_url(url), reason=reason)
        finally:
            slow.cancel()
    raise BrokerUnavailable(",".join(urls), reason)


class MessageTooLarge(ValueError):
    """A body over ``MAX_MESSAGE_BYTES``: every consumer would dead-letter it, so it is not sent. The contracts
    bound every field, so a valid message never gets this large; this is a bug, not a broker fault."""


class DurabilityClash(Exception):
    """A queue of the namespace exists with the other durability's type (quorum under strict, classic under light):
    RabbitMQ cannot redeclare a queue as another type, so the namespace must be cleaned first (a usage error)."""

    def __init__(self, queue: str, topology: Topology, reason: object) -> None:
        other = "strict" if topology.durability == "light" else "light"
        super().__init__(
            f"queue {queue} already exists as another type than the {topology.queue_type} queue --durability "
            f"{topology.durability} declares (it was declared by a {other} run or service; RabbitMQ: {reason}). Stop "
            f"what serves namespace {topology.namespace} and empty it with `sagalab clean --namespace "
            f"{topology.namespace}`, or run with --durability {other}",
        )


TRANSPORTS: dict[str, type[Transport]] = {"plain": PlainTransport, "fast": FastTransport}
"""``plain`` is the default; ``SAGALAB_TRANSPORT=fast`` opts every process of a run into the fast one."""


class UnknownTransport(ValueError):
    """``SAGALAB_TRANSPORT`` names no transport."""


def transport_from_env() -> Transport:
    """The transport ``SAGALAB_TRANSPORT`` names (``plain`` when unset)."""
    name = os.environ.get("SAGALAB_TRANSPORT") or "plain"
    if name not in TRANSPORTS:
        raise UnknownTransport(f"SAGALAB_TRANSPORT={name!r} names no transport; use one of {', '.join(TRANSPORTS)} "
                               "(or leave it unset for plain)")  # fmt: skip
    return TRANSPORTS[name]()


class Broker:
    """One robust connection per process: a confirming publish channel and a channel per consumed queue."""

    def __init__(self, connection: AbstractRobustConnection, topology: Topology, sender: str,
                 transport: Transport | None = None) -> None:  # fmt: skip
        self.connection = connection
        self.transport = transport or transport_from_env()
        """How this process consumes and publishes (see ``adapter.py``): the host never knows which."""
        self.topology = topology
        self.sender = sender
        url = getattr(connection, "url", None)  # every aio-pika connection has one; its abstract class does not say so
        self.user: str = (url.user if url is not None else None) or "guest"
        """The broker user this connection logged in as: every publish names it in ``user_id``."""
        self._publish_channel: AbstractChannel | None = None
        self._exchange_names = {kind: topology.exchange(kind) for kind in EXCHANGE_KINDS}

    @classmethod
    async def connect(cls, url: str, topology: Topology, sender: str, timeout: float = 10.0, declare: bool = True,
                      transport: Transport | None = None) -> Broker:  # fmt: skip
        """Connect, open the confirming publish channel and (unless ``declare`` is false) declare the exchanges.
        ``transport`` defaults to the one ``SAGALAB_TRANSPORT`` names (``plain`` when unset)."""
        transport = transport or transport_from_env()  # a wrong name fails before anything connects
        urls = failover_order(split_urls(url), sender)
        if len(urls) > 1:  # a cluster: every queue replicated on every node given
            topology = dataclasses.replace(topology, replicas=len(urls))
        connection = await _connect(urls, timeout, {"connection_name": f"{topology.namespace}:{sender}"})
        broker = cls(connection, topology, sender, transport)
        # strict: every publish waits for the broker's confirm; light: publish and move on (no confirms).
        confirms = topology.confirms
        broker._publish_channel = await connection.channel(publisher_confirms=confirms, on_return_raises=confirms)
        if declare:
            await broker.declare_exchanges(broker._publish_channel)
        return broker

    async def close(self) -> None:
        await self.connection.close()

    async def declare_exchanges(self, channel: AbstractChannel) -> dict[ExchangeKind, AbstractExchange]:
        """The namespace's three topic exchanges, and the dead-letter exchange with its queue."""
        t = self.topology
        exchanges = {
            kind: await channel.declare_exchange(t.exchange(kind), aio_pika.ExchangeType.TOPIC, durable=True)
            for kind in EXCHANGE_KINDS
        }
        dlx = await channel.declare_exchange(t.dead_letter_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        dlq = await channel.declare_queue(t.dead_letter_queue, durable=True, arguments=t.side_queue_arguments())
        await dlq.bind(dlx, "#")
        return exchanges

    async def declare_queue(self, spec: QueueSpec, channel: AbstractChannel | None = None) -> AbstractQueue:
        channel = channel or self._require_channel()
        name = self.topology.queue(spec)
        try:
            queue = await channel.declare_queue(
                name, durable=spec.durable, exclusive=not spec.durable,
                auto_delete=not spec.durable, arguments=self.topology.queue_arguments_for(spec),
            )  # fmt: skip
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            if "x-queue-type" in str(exc) or "x-delivery-limit" in str(exc):
                raise DurabilityClash(name, self.topology, exc) from None
            raise
        for binding in spec.bindings:
            await queue.bind(self.topology.exchange(binding.exchange), binding.routing_key)
        return queue

    async def consume(self, spec: QueueSpec, handler: DeliveryHandler) -> Consumer:
        """Consume on a channel of its own, with manual acks and bounded prefetch, by ``delivery.py``'s ack rule.
        The channel is robust: after a reconnection it is reopened (qos, queue, bindings, consumer)."""
        channel = await self.connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=spec.prefetch)
        queue = await self.declare_queue(spec, channel)
        return await self.transport.consume(queue, handler, self.sender, self.publish_dead_letter)

    async def publish(self, out: Outgoing) -> None:
        """Publish persistently, mandatory, and wait for the broker's confirm (else ``PublishFailed``); under
        ``light`` durability there is no confirm to wait for: the publish returns once it is written.

        A body over ``MAX_MESSAGE_BYTES`` raises ``MessageTooLarge`` (RabbitMQ's own ``max_message_size`` is
        broker-wide)."""
        if len(out.body) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(f"{out.type} {out.message_id}: {len(out.body)} bytes, at most {MAX_MESSAGE_BYTES}")
        properties = Properties(
            message_id=out.message_id, correlation_id=out.correlation_id, type=out.type, app_id=self.sender,
            user_id=self.user, reply_to=out.reply_to, headers={**out.headers, "x-published-us": time.time_ns() // 1000},
        )  # fmt: skip
        await self.transport.publish(self._require_channel(), self._exchange_names[out.exchange], out.routing_key,
                                     out.body, properties)  # fmt: skip

    async def publish_dead_letter(self, delivery: Delivery, why: DeadLetter) -> None:
        """Publish a copy of a delivery to the dead-letter exchange, with why in its headers, and wait for the
        confirm: same body and properties, the original routing key (see ``dead_letter.py``)."""
        headers = {**delivery.headers, **why.headers()}
        user_id = delivery.user_id
        if user_id and user_id != self.user:
            headers[USER_ID] = user_id  # RabbitMQ refuses a user_id that is not the publishing connection's
            user_id = None
        properties = Properties(
            message_id=delivery.message_id, correlation_id=delivery.correlation_id, type=delivery.type,
            app_id=delivery.sender, user_id=user_id, reply_to=delivery.reply_to, content_type=delivery.content_type,
            headers=headers,
        )  # fmt: skip
        try:
            await self.transport.publish(self._require_channel(), self.topology.dead_letter_exchange,
                                         why.routing_key, delivery.body, properties)  # fmt: skip
        except PublishFailed as exc:
            raise PublishFailed(f"dead-letter copy of {delivery.message_id}: {exc}") from exc

    async def publish_raw(self, exchange: str, routing_key: str, body: bytes, **properties: Any) -> None:
        """Publish arbitrary bytes (fault injection, poison messages) to an exchange of this namespace."""
        channel = self._require_channel()
        target = await channel.get_exchange(exchange, ensure=False)
        properties.setdefault("delivery_mode", aio_pika.DeliveryMode.PERSISTENT)
        await target.publish(aio_pika.Message(body, **properties), routing_key)

    async def republish(self, seen: Observed) -> None:
        """Publish an exact copy of a message the tap saw: same body, ids and routing (a duplicate); its user_id
        too when this connection logs in as that user (the broker refuses any other)."""
        headers = {k: v for k, v in seen.headers.items() if not k.startswith("x-death")}
        headers["x-published-us"] = time.time_ns() // 1000
        await self.publish_raw(
            seen.exchange, seen.routing_key, seen.body, type=seen.type, message_id=seen.message_id,
            correlation_id=seen.correlation_id, app_id=seen.sender, reply_to=seen.reply_to,
            headers=headers, content_type="application/json", user_id=seen.user_id if seen.user_id == self.user else None,
        )  # fmt: skip

    async def delete(self, queues: list[str], exchanges: list[str]) -> tuple[list[str], list[str]]:
        """Delete those of these queues and exchanges that exist (``sagalab clean``); returns the names deleted.

        Each name is first declared passively: a missing one (or a queue another connection holds exclusively)
        closes the channel with an error, which only means there is nothing of ours to delete there."""
        deleted: tuple[list[str], list[str]] = ([], [])
        channel = await self.connection.channel()
        for kind, names in enumerate((queues, exchanges)):
            for name in names:
                try:
                    if kind == 0:
                        await channel.declare_queue(name, passive=True)
                        await channel.queue_delete(name)
                    else:
                        await channel.declare_exchange(name, passive=True)
                        await channel.exchange_delete(name)
                    deleted[kind].append(name)
                except aiormq.exceptions.AMQPError:
                    channel = await self.connection.channel()
        await channel.close()
        return deleted

    def _require_channel(self) -> AbstractChannel:
        if self._publish_channel is None:
            raise RuntimeError("Broker.connect() first")
        return self._publish_channel


__all__ = ["Broker", "BrokerRefused", "BrokerUnavailable", "Consumer", "DurabilityClash", "DeliveryHandler", "MessageTooLarge", "PublishFailed",
           "bindings", "transport_from_env"]


def bindings(*pairs: tuple[ExchangeKind, str]) -> tuple[Binding, ...]:
    return tuple(Binding(exchange, key) for exchange, key in pairs)
