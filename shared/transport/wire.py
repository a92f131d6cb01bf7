"""Messages as they travel: addressed, encoded envelopes that the outbox stores and the broker carries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from shared.domain.contracts import BOUND_ERRORS, MAX_MESSAGE_BYTES, MESSAGE_TYPES, Message, routing_key
from shared.domain.ids import new_id, utcnow

ExchangeKind = Literal["events", "commands", "replies"]


class UndecodableMessage(Exception):
    """A delivery that is not a valid sagalab message; it goes to the dead-letter queue."""

    error = "UndecodableMessage"
    """The error type a dead-lettered copy carries in ``x-sagalab-error``."""


class MissingMessageId(UndecodableMessage):
    """A message without a message id: handled under an id invented on arrival, every redelivery would
    redo its effect, so it is dead-lettered instead."""

    error = "MissingMessageId"


class OutOfBounds(UndecodableMessage):
    """A message too large, or with a field out of its bounds (an amount, a quantity, a string's length)."""

    error = "OutOfBounds"


@dataclass(frozen=True)
class Outgoing:
    """A message ready to publish: which exchange, which routing key, and its encoded body."""

    exchange: ExchangeKind
    routing_key: str
    type: str
    message_id: str
    correlation_id: str
    body: bytes
    reply_to: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def event(cls, message: Message, **headers: Any) -> Outgoing:
        return cls.of(message, "events", routing_key(message), **headers)

    @classmethod
    def command(cls, message: Message, participant: str, reply_to: str | None, **headers: Any) -> Outgoing:
        return cls.of(message, "commands", routing_key(message, participant), reply_to=reply_to, **headers)

    @classmethod
    def reply(cls, message: Message, reply_to: str, **headers: Any) -> Outgoing:
        return cls.of(message, "replies", reply_to, **headers)

    @classmethod
    def of(
        cls,
        message: Message,
        exchange: ExchangeKind,
        key: str,
        *,
        reply_to: str | None = None,
        **headers: Any,
    ) -> Outgoing:
        return cls(
            exchange=exchange,
            routing_key=key,
            type=type(message).__name__,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            body=encode(message),
            reply_to=reply_to,
            headers={k: v for k, v in headers.items() if v is not None},
        )


def encode(message: Message) -> bytes:
    return message.model_dump_json().encode()


def decode(type_name: str | None, body: bytes) -> Message:
    """Turn a delivery back into its message class, or say precisely why it cannot be."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise OutOfBounds(f"{type_name or 'message'} of {len(body)} bytes, at most {MAX_MESSAGE_BYTES} allowed")
    if not type_name:
        raise UndecodableMessage("no 'type' property on the message")
    cls = MESSAGE_TYPES.get(type_name)
    if cls is None:
        raise UndecodableMessage(f"unknown message type {type_name!r}")
    try:
        message = cls.model_validate_json(body)
    except ValidationError as exc:
        raise invalid(type_name, exc) from None
    if "message_id" not in message.model_fields_set:
        raise MissingMessageId(f"no message_id in the {type_name} body")
    return message


def decode_delivery(type_name: str | None, body: bytes, message_id: str | None) -> Message:
    """``decode``, and check the AMQP ``message_id`` property: present, and the body's own id."""
    message = decode(type_name, body)
    if not message_id:
        raise MissingMessageId("no message_id property")
    if message_id != message.message_id:
        raise UndecodableMessage(f"message_id property {message_id!r} is not the body's {message.message_id!r}")
    return message


def digest(message: Message) -> str:
    """What a message says, without its envelope's id and time: the same command sent again (a retry, a
    re-run) has the same digest; another message under a reused id has not."""
    content = {"type": type(message).__name__, "correlation_id": message.correlation_id, **message.business_fields()}
    return hashlib.sha256(_digest_json(content).encode()).hexdigest()[:32]


def invalid(what: str, exc: ValidationError) -> UndecodableMessage:
    """The error for a validation failure, naming each field: ``OutOfBounds`` when every problem is a bound."""
    errors = exc.errors()
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)
    if all(e["type"] in BOUND_ERRORS for e in errors):
        return OutOfBounds(f"{what} out of bounds: {problems}")
    return UndecodableMessage(f"invalid {what}: {problems}")


def headers_json(headers: dict[str, Any]) -> str:
    return _headers_json(headers) if headers else "{}"


# What ``json.dumps`` with these options would build afresh on every call (an encoder), built once: the text is
# the same, and it must stay so (an inbox keeps each message's digest and compares a redelivery's with it).
_digest_json = json.JSONEncoder(sort_keys=True, default=str).encode
_headers_json = json.JSONEncoder(separators=(",", ":"), default=str).encode


def answered_again(first: Outgoing, asker: Message, reply_to: str) -> Outgoing:
    """A stored answer given again to another message asking for the same step: the same outcome, under a
    new id, caused by (and addressed to) the new asker, so it can match the answer to its question."""
    outcome = decode(first.type, first.body)
    again = outcome.model_copy(
        update={"message_id": new_id(), "causation_id": asker.message_id, "occurred_at": utcnow()}
    )
    key = reply_to if first.exchange == "replies" else first.routing_key
    return Outgoing.of(again, first.exchange, key, reply_to=first.reply_to, **first.headers)
