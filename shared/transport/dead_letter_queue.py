"""The dead-letter queue as an operator reads it: every message looked at and put back, and chosen ones moved
back to the exchange and routing key they were first published with.

Looking never takes a message: each is fetched with ``basic.get`` and manual ack, held unacknowledged while
the queue is read, then nacked with requeue, so it goes back to where it was (a crash of the reader returns
it too: the broker requeues what a closed channel held). Moving one publishes a copy with a confirm first
and acks the original only after the broker confirmed the copy: a crash between the two leaves it in both
places, never in neither (the consumers' inboxes drop the second copy by its message id).

Two kinds of dead letter are read: the copies sagalab's consumers dead-letter themselves (the
``x-sagalab-*`` headers: error, reason, service, queue, attempts, exchange, routing key), and the messages
RabbitMQ dead-letters on its own (its ``x-death`` headers: reason ``delivery_limit`` or ``rejected``, queue,
count, time, exchange, routing keys).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiormq
from aio_pika.abc import AbstractIncomingMessage

from shared.transport.broker import Broker
from shared.transport.dead_letter import USER_ID
from shared.transport.topology import EXCHANGE_KINDS

DROPPED_ON_REQUEUE = ("x-death", "x-first-death-", "x-last-death-", "x-sagalab-", "x-delivery-count")
"""Headers that describe the dead-lettering; the requeued copy is the message as it was first published."""


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message: its properties, its headers read as the two kinds say, and its body."""

    id: str
    """The message id when it is a short printable one, else ``sha-`` and the start of the body's digest."""
    type: str | None
    message_id: str | None
    correlation_id: str | None
    error: str
    """sagalab's error type (``OutOfBounds``...), or RabbitMQ's reason (``delivery_limit``, ``rejected``)."""
    reason: str
    service: str
    queue: str
    attempts: int | None
    when: datetime | None
    """When RabbitMQ dead-lettered it, else when it was first published (when either is known)."""
    exchange: str | None
    routing_key: str | None
    """Where it was first published: where ``requeue`` sends it back."""
    headers: dict[str, Any] = field(repr=False)
    properties: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)


@dataclass
class Requeued:
    moved: list[DeadLetter] = field(default_factory=list)
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)


async def look(broker: Broker, limit: int = 10_000) -> tuple[list[DeadLetter], int]:
    """The first ``limit`` dead letters of the namespace, in queue order, all left in the queue; and how
    many messages the queue holds in all."""
    async with _held(broker, limit) as (held, total):
        return [letter for letter, _ in held], total


async def requeue(broker: Broker, chosen: Callable[[DeadLetter], bool], limit: int = 10_000) -> Requeued:
    """Publish each chosen dead letter to its original exchange and routing key (confirmed), then remove it
    from the dead-letter queue; every other one stays, in its order."""
    done = Requeued()
    async with _held(broker, limit) as (held, _):
        for letter, message in held:
            if not chosen(letter):
                continue
            problem = await _republish(broker, letter)
            if problem is None:
                await message.ack()
                done.moved.append(letter)
            else:
                done.failed.append((letter, problem))
    return done


@asynccontextmanager
async def _held(broker: Broker, limit: int) -> AsyncIterator[tuple[list[tuple[DeadLetter, AbstractIncomingMessage]], int]]:
    """Fetch up to ``limit`` messages unacknowledged; on leaving, nack with requeue all that were not acked."""
    channel = await broker.connection.channel(publisher_confirms=False)
    held: list[tuple[DeadLetter, AbstractIncomingMessage]] = []
    try:
        try:
            queue = await channel.declare_queue(broker.topology.dead_letter_queue, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            yield [], 0  # the namespace never declared one: nothing was dead-lettered
            return
        total = int(queue.declaration_result.message_count or 0)
        while len(held) < limit and (message := await queue.get(no_ack=False, fail=False)) is not None:
            held.append((read(message, broker.topology.namespace), message))
        yield held, max(total, len(held))
    finally:
        for _, message in held:
            if not message.processed and not channel.is_closed:
                await message.nack(requeue=True)
        if not channel.is_closed:
            await channel.close()


async def _republish(broker: Broker, letter: DeadLetter) -> str | None:
    """Publish the message as first published, wait for the confirm; None, or why it could not be moved."""
    if letter.exchange is None or letter.routing_key is None:
        return "no x-sagalab-exchange / x-death header says where it was first published"
    headers = {k: v for k, v in letter.headers.items() if not k.startswith(DROPPED_ON_REQUEUE)}
    headers["x-sagalab-requeued"] = int(letter.headers.get("x-sagalab-requeued", 0) or 0) + 1
    # The publisher's user id comes back too (a consumer's copy keeps it in a header, since RabbitMQ lets only
    # that user set it): the broker refuses it unless this connection is that user or an impersonator.
    user_id = letter.properties.get("user_id") or _text(letter.headers.get(USER_ID)) or None
    properties = aiormq.spec.Basic.Properties(
        headers=headers, delivery_mode=2, content_type=letter.properties.get("content_type"),
        message_type=letter.type, message_id=letter.message_id, correlation_id=letter.correlation_id,
        app_id=letter.properties.get("app_id"), user_id=user_id,
        reply_to=letter.properties.get("reply_to"), timestamp=letter.properties.get("timestamp"),
    )  # fmt: skip
    channel = await broker.connection.channel(publisher_confirms=True)
    try:  # every property as it was (aiormq gives a message without an id one: it maps returns by id)
        underlay = await channel.get_underlay_channel()
        confirmation = await underlay.basic_publish(letter.body, exchange=letter.exchange,
                                                    routing_key=letter.routing_key, properties=properties,
                                                    mandatory=True)  # fmt: skip
    except (aiormq.exceptions.AMQPError, RuntimeError) as exc:  # no such exchange; a user_id it may not claim
        if user_id and isinstance(exc, aiormq.exceptions.ChannelPreconditionFailed):
            return (f"the broker refused user_id {user_id!r} from this connection's user: requeue with that "
                    f"user's credentials (--amqp-url), or give this user the impersonator tag")  # fmt: skip
        return f"the broker refused it: {exc!r}"
    finally:
        if not channel.is_closed:
            await channel.close()
    if not isinstance(confirmation, aiormq.spec.Basic.Ack):
        return f"the broker did not take it back: {confirmation!r}"
    return None


def read(message: AbstractIncomingMessage, namespace: str) -> DeadLetter:
    """A dead letter as the headers of either kind describe it."""
    headers = dict(message.headers or {})
    death = _first_death(headers)
    queue = _text(headers.get("x-sagalab-queue")) or _text(death.get("queue"))
    properties = {k: v for k, v in {
        "type": message.type, "message_id": message.message_id, "correlation_id": message.correlation_id,
        "app_id": message.app_id, "user_id": message.user_id, "reply_to": message.reply_to,
        "content_type": message.content_type, "timestamp": message.timestamp,
    }.items() if v is not None}  # fmt: skip
    return DeadLetter(
        id=letter_id(message.message_id, message.body), type=message.type, message_id=message.message_id,
        correlation_id=message.correlation_id, error=_error(headers, death), reason=_reason(headers, death),
        service=_text(headers.get("x-sagalab-service")) or _service_of(queue, namespace), queue=queue,
        attempts=_attempts(headers), when=_when(headers, death), exchange=_exchange(headers, death, namespace),
        routing_key=_routing_key(headers, death, message.routing_key), headers=headers, properties=properties,
        body=message.body,
    )  # fmt: skip


def letter_id(message_id: str | None, body: bytes) -> str:
    if message_id and len(message_id) <= 64 and message_id.isprintable() and " " not in message_id:
        return message_id
    return f"sha-{hashlib.sha256(body).hexdigest()[:12]}"


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    """The newest entry of RabbitMQ's ``x-death`` (it puts the latest first), or an empty one."""
    deaths = headers.get("x-death")
    return dict(deaths[0]) if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)


def _error(headers: dict[str, Any], death: dict[str, Any]) -> str:
    return _text(headers.get("x-sagalab-error")) or _text(death.get("reason")) or "unknown"


def _reason(headers: dict[str, Any], death: dict[str, Any]) -> str:
    if reason := _text(headers.get("x-sagalab-reason")):
        return reason
    if death:
        return f"RabbitMQ: {_text(death.get('reason'))} in {_text(death.get('queue'))} ({death.get('count', 1)}x)"
    return "no x-sagalab-reason or x-death header"


def _attempts(headers: dict[str, Any]) -> int | None:
    value = headers.get("x-sagalab-attempts")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _when(headers: dict[str, Any], death: dict[str, Any]) -> datetime | None:
    if isinstance(death.get("time"), datetime):
        return death["time"]
    published_us = headers.get("x-published-us")
    if isinstance(published_us, int):
        return datetime.fromtimestamp(published_us / 1e6, UTC)
    return None


def _exchange(headers: dict[str, Any], death: dict[str, Any], namespace: str) -> str | None:
    if "x-sagalab-exchange" in headers:
        name = _text(headers["x-sagalab-exchange"])
        return f"{namespace}.{name}" if name in EXCHANGE_KINDS else name  # a kind ("events") names ours
    return _text(death["exchange"]) if "exchange" in death else None


def _routing_key(headers: dict[str, Any], death: dict[str, Any], delivered_with: str | None) -> str | None:
    if "x-sagalab-routing-key" in headers:
        return _text(headers["x-sagalab-routing-key"])
    keys = death.get("routing-keys")
    if isinstance(keys, list) and keys:
        return _text(keys[0])
    return None if not death else delivered_with


def _service_of(queue: str, namespace: str) -> str:
    """``<ns>.payment`` -> ``payment``; ``<ns>.orchestrator.starts`` -> ``orchestrator``."""
    return queue.removeprefix(f"{namespace}.").split(".")[0] if queue else ""
