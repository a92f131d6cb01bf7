"""AsyncAPI 3.0.0 documents of each mode's topology, for participants written in any language.

Nothing in them is written by hand. Who publishes what comes from the code that decides it: in
choreography the reaction table and the outcome types of the domain functions behind it
(``charge_payment(...) -> PaymentCharged | PaymentDeclined``); in orchestration the commands the
participants' queues are bound to, each answered on the replies exchange with its domain outcomes or
``TaskFailed``. Who receives what comes from every queue's bindings (``scenarios.topologies.queue_specs``)
matched against those publications. Names come from ``Topology`` with the namespace left as
``{namespace}``; payloads are the JSON Schemas of ``sagalab.schemas``, embedded under ``components.schemas``.

AsyncAPI 3.0 rather than 2.6 because 3.0 keeps channels (where messages go) apart from operations (who
sends or receives them), so many services can publish on one exchange, and it has request/reply: an
orchestrator's command carries the replies it expects. Following the AMQP binding, a channel is either a
routing key on an exchange (what a sender publishes to) or a queue (what a service consumes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from choreography.reactions import REACTIONS, event_keys
from orchestration.processes import REPLY_KEY
from sagalab.report.event_graph import domain_outcomes, step_outcomes
from sagalab.schemas import render
from scenarios.topologies import coordinator, queue_specs
from shared.config import MODES, Mode
from shared.domain.contracts import (
    MESSAGE_TYPES,
    Command,
    Event,
    Failure,
    InvokeTask,
    Message,
    Notification,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
    routing_key,
)  # fmt: skip
from shared.domain.reading import kind_of
from shared.transport.topology import DELIVERY_LIMIT, Binding, QueueSpec, Topology, key_matches
from shared.transport.wire import ExchangeKind

VERSION = "3.0.0"
BINDING = "0.3.0"
CONTRACTS_VERSION = "1.0.0"
"""The ``info.version`` of both documents: raise it when a message or a name changes incompatibly."""
DEFAULT_DIR = Path("docs/asyncapi")
CLIENT = "client"
"""Whoever places orders from outside (``sagalab run``, the bench, your own program)."""
PARTICIPANT = "{participant}"
REPLY_TO = "{replyTo}"
NAMES = Topology("{namespace}")
GENERIC_PARTICIPANT = QueueSpec(PARTICIPANT, (Binding("commands", f"{PARTICIPANT}.#"),))
"""Any process that speaks the participant protocol (docs/participant-protocol.md), in any language."""

PARAMETERS: dict[str, dict[str, Any]] = {
    "namespace": {
        "description": "The namespace every exchange and queue name starts with (`--namespace`), so several "
        "runs or workshop participants can share one broker. In exchange names, which AsyncAPI cannot "
        "parameterise, it is written `{namespace}` too.",
        "examples": ["sagalab", "alice"],
    },
    "participant": {
        "description": "A participant's name: the first word of the routing keys it receives and what a "
        "resource map points at.",
        "examples": ["lambdas", "flights"],
    },
    "replyTo": {
        "description": "The `reply_to` property of the command being answered: `orchestrator` for the "
        "checkout orchestrator, `orchestrator.<n>` for its instance n, `execute.<execution id>` for "
        "`sagalab execute`. Never a fixed key: answer where you were asked to.",
        "default": REPLY_KEY,
        "examples": [REPLY_KEY, "execute.exec-7f3a9c"],
    },
}

DESCRIPTION = """\
sagalab's checkout saga in {mode}, as it crosses RabbitMQ (AMQP 0-9-1).

- **Names.** Every exchange and queue starts with the namespace: `{{namespace}}.events`, `{{namespace}}.commands`,
  `{{namespace}}.replies` (topic, durable) and one queue per consumer, `{{namespace}}.<service>`. A queue's
  `x-amqp-queue-bindings` list what it is bound to and `x-amqp-queue-arguments` how it is declared
  (quorum, a delivery limit of {limit}, dead-lettered to `{{namespace}}.dead-letter`, whose queue
  `{{namespace}}.dead-letters` keeps what could not be decoded or kept failing).
- **Routing keys** are `<owner>.<Type>`: the service that handles the command or emits the event, then
  the message type. Replies (orchestration) are the exception: their routing key is the command's `reply_to`.
- **Properties.** Every message is persistent (`delivery_mode` 2), published `mandatory` with publisher
  confirms, `content_type` `application/json`, `type` = the message type (the AMQP message binding's
  `messageType`), `message_id` and `correlation_id` equal to the body's, `app_id` = the sender, and
  `reply_to` on a command that expects a reply.
- **Bodies** are validated strictly on arrival: a missing field, a wrong type or an unknown field gets
  the message dead-lettered. `components.schemas` holds each body's JSON Schema, as in `docs/schemas/`.
- **Delivery is at least once.** Consumers keep an inbox of message ids and ack only after their
  transaction commits; a repeated command is answered again with the stored reply
  (docs/participant-protocol.md, Idempotency).

Generated from the code by `sagalab schema`; do not edit by hand.
"""


@dataclass(frozen=True)
class Publication:
    """One message type that one sender publishes to one exchange with one routing key."""

    sender: str
    exchange: ExchangeKind
    routing_key: str
    message: type[Message]
    replies: tuple[type[Message], ...] = ()
    """For a command in orchestration: what may come back on the replies exchange."""


def publications(mode: Mode) -> list[Publication]:
    """Who publishes what in ``mode``, read from the reaction table, the bindings and the domain's outcomes."""
    pubs = _commands(mode)
    if mode == "choreography":
        watcher = coordinator(mode)
        pubs += [Publication(watcher, "events", routing_key(cls), cls) for cls in MESSAGE_TYPES.values()
                 if issubclass(cls, Event) and cls.owner == watcher]  # fmt: skip
        pubs += [Publication(r.service, "events", key, outcome)
                 for r in REACTIONS for outcome in step_outcomes(r.does) if issubclass(outcome, Event)
                 for key in event_keys(outcome)]  # fmt: skip
    else:
        orchestrator = coordinator(mode)
        answers = (TaskSucceeded, TaskFailed, TaskHeartbeat)
        pubs.append(Publication(orchestrator, "commands", routing_key(InvokeTask, PARTICIPANT), InvokeTask, answers))
        # A participant answers on the replies exchange; the first word of a command's key names it.
        pubs += [Publication(p.routing_key.split(".")[0], "replies", REPLY_TO, reply) for p in pubs for reply in p.replies]
        # Only the orchestrator interprets `arn:aws:states:::sns:publish` Tasks.
        pubs.append(Publication(orchestrator, "events", routing_key(Notification), Notification))
    return list(dict.fromkeys(pubs))


def _commands(mode: Mode) -> list[Publication]:
    """Commands, from the queues bound to them: the client's go to the coordinator, the coordinator's to the rest."""
    front = coordinator(mode)
    pubs = []
    for spec in queue_specs(mode):
        for binding in spec.bindings:
            if binding.exchange != "commands":
                continue
            for cls in _matching(binding.routing_key, Command):
                if spec.service == front:
                    pubs.append(Publication(CLIENT, "commands", routing_key(cls), cls))
                else:
                    outcomes: tuple[type[Message], ...] = (*domain_outcomes(cls), TaskFailed)
                    pubs.append(Publication(front, "commands", routing_key(cls, spec.service), cls, outcomes))
    return pubs


M = TypeVar("M", bound=Message)


def _matching(pattern: str, base: type[M]) -> list[type[M]]:
    return [cls for cls in MESSAGE_TYPES.values() if issubclass(cls, base) and key_matches(pattern, routing_key(cls))]


def queues(mode: Mode) -> list[QueueSpec]:
    """Every queue a participant of ``mode`` consumes, the generic participant's included."""
    return queue_specs(mode) + ([GENERIC_PARTICIPANT] if mode == "orchestration" else [])


def received(spec: QueueSpec, pubs: list[Publication]) -> list[type[Message]]:
    """What arrives on a queue: every publication one of its bindings matches."""
    def routed(p: Publication, b: Binding) -> bool:
        key = REPLY_KEY if p.routing_key == REPLY_TO else p.routing_key
        return b.exchange == p.exchange and key_matches(b.routing_key, key)

    return list(dict.fromkeys(p.message for p in pubs if any(routed(p, b) for b in spec.bindings)))


def document(mode: Mode) -> dict[str, Any]:
    """The AsyncAPI document of ``mode``."""
    pubs = publications(mode)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for pub in pubs:
        cid = _route_id(pub.exchange, pub.routing_key)
        channel = channels.setdefault(cid, _route_channel(pub.exchange, pub.routing_key))
        channel["messages"][pub.message.__name__] = _ref("components", "messages", pub.message.__name__)
    for pub in pubs:
        cid = _route_id(pub.exchange, pub.routing_key)
        operation = _operation("send", pub.sender, cid, [pub.message],
                               f"{pub.sender} publishes {pub.message.__name__} to `{NAMES.exchange(pub.exchange)}` "
                               f"with routing key `{pub.routing_key}`.")  # fmt: skip
        if pub.replies:
            replies = _route_id("replies", REPLY_TO)
            operation["reply"] = {
                "address": {"location": "$message.header#/reply_to",
                            "description": "the command's AMQP `reply_to` property"},
                "channel": _ref("channels", replies),
                "messages": [_ref("channels", replies, "messages", m.__name__) for m in pub.replies],
            }  # fmt: skip
        name = _key(f"{pub.sender}.sends.{pub.message.__name__}")
        if name in operations:  # a second routing key for the same message (choreography's line chain)
            name = _key(f"{pub.sender}.sends.{pub.routing_key}")
        operations[name] = operation
    for spec in queues(mode):
        messages = received(spec, pubs)
        cid = _key(f"queue.{_queue_label(spec)}")
        channels[cid] = _queue_channel(spec, messages)
        if spec.max_length is None and messages:  # a capped sink (notifications) is for inspection; nobody consumes it
            names = ", ".join(m.__name__ for m in messages)
            operations[_key(f"{_queue_label(spec)}.receives")] = _operation(
                "receive", spec.service, cid, messages, f"{spec.service} consumes `{NAMES.queue(spec)}`: {names}.")
    used = sorted({m for p in pubs for m in (p.message, *p.replies)}, key=lambda m: m.__name__)
    return {
        "asyncapi": VERSION,
        "info": {"title": f"sagalab · {mode}", "version": CONTRACTS_VERSION,
                 "description": DESCRIPTION.format(mode=mode, limit=DELIVERY_LIMIT),
                 "license": {"name": "MIT"}},
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {"host": "localhost:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
                                 "pathname": "/", "description": "The run's broker: `--amqp-url`, default `$AMQP_URL`."}},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _schemas(used, mode),
            "messages": {m.__name__: _message(m) for m in used},
            "parameters": {name: PARAMETERS[name] for name in sorted(_parameters_in(channels))},
            "correlationIds": {"saga": {"location": "$message.payload#/correlation_id",
                                        "description": "The saga's id: the order id (an execution id for "
                                                       "`sagalab execute`); the AMQP `correlation_id` too."}},
        },
    }  # fmt: skip


def _route_channel(exchange: ExchangeKind, key: str) -> dict[str, Any]:
    exchange_object = {"name": NAMES.exchange(exchange), "type": "topic", "durable": True, "autoDelete": False,
                       "vhost": "/"}  # fmt: skip
    channel: dict[str, Any] = {"address": key, "title": f"{NAMES.exchange(exchange)} · {key}", "messages": {}}
    channel |= _channel_parameters(key)
    channel["bindings"] = {"amqp": {"is": "routingKey", "exchange": exchange_object, "bindingVersion": BINDING}}
    return channel


def _queue_channel(spec: QueueSpec, messages: list[type[Message]]) -> dict[str, Any]:
    name = NAMES.queue(spec)
    channel: dict[str, Any] = {
        "address": name, "title": name, "messages": {m.__name__: _ref("components", "messages", m.__name__)
                                                     for m in messages},
    }  # fmt: skip
    if spec.max_length is not None:
        channel["description"] = f"Keeps the latest {spec.max_length} messages for inspection; nothing consumes it."
    channel |= _channel_parameters(name)
    queue = {"name": name, "durable": spec.durable, "exclusive": not spec.durable, "autoDelete": False, "vhost": "/"}
    channel["bindings"] = {"amqp": {"is": "queue", "queue": queue, "bindingVersion": BINDING}}
    channel["x-amqp-queue-bindings"] = [{"exchange": NAMES.exchange(b.exchange), "routingKey": b.routing_key}
                                        for b in spec.bindings]  # fmt: skip
    channel["x-amqp-queue-arguments"] = NAMES.queue_arguments_for(spec)
    return channel


def _operation(action: str, service: str, channel: str, messages: list[type[Message]], summary: str) -> dict[str, Any]:
    amqp = {"deliveryMode": 2, "mandatory": True} if action == "send" else {"ack": True}
    return {
        "action": action, "channel": _ref("channels", channel), "summary": summary, "tags": [{"name": service}],
        "messages": [_ref("channels", channel, "messages", m.__name__) for m in messages],
        "bindings": {"amqp": amqp | {"bindingVersion": BINDING}},
    }  # fmt: skip


def _message(cls: type[Message]) -> dict[str, Any]:
    kind = "command" if issubclass(cls, Command) else "event"
    if issubclass(cls, Failure) or cls is TaskFailed:
        kind = "failure event"
    summary = f"A {kind_of(cls.__name__) + ' ' if kind_of(cls.__name__) == 'compensation' else ''}{kind}."
    return {
        "name": cls.__name__, "title": cls.__name__, "summary": summary, "contentType": "application/json",
        "correlationId": _ref("components", "correlationIds", "saga"),
        "headers": _ref("components", "schemas", "AmqpHeaders"),
        "payload": _ref("components", "schemas", cls.__name__),
        "bindings": {"amqp": {"messageType": cls.__name__, "bindingVersion": BINDING}},
    }  # fmt: skip


def _schemas(messages: list[type[Message]], mode: Mode) -> dict[str, Any]:
    """Each body's JSON Schema, with the models it nests (``Order``) hoisted beside it."""
    schemas: dict[str, Any] = {"AmqpHeaders": _headers(mode)}
    for cls in messages:
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[cls.__name__] = schema
    return dict(sorted(schemas.items()))


def _headers(mode: Mode) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "x-published-us": {"type": "integer", "description": "When it was published, in microseconds since the "
                           "epoch; for latency figures only."},
    }  # fmt: skip
    if mode == "orchestration":
        properties["x-state"] = {"type": "string", "description": "Commands: the Task state's name; for logs only."}
        properties["x-attempt"] = {"type": "integer", "minimum": 0,
                                   "description": "Commands: 0 for the first attempt, 1 for the first retry ...; "
                                                  "for logs only."}  # fmt: skip
    return {"type": "object", "description": "The AMQP headers sagalab sets; none is required.",
            "properties": properties}  # fmt: skip


def _route_id(exchange: ExchangeKind, key: str) -> str:
    return "replies" if exchange == "replies" else _key(f"{exchange}.{key}")


def _queue_label(spec: QueueSpec) -> str:
    return f"{spec.service}{'.' + spec.suffix if spec.suffix else ''}"


def _key(text: str) -> str:
    """A component or channel key: braces of placeholders dropped (``{participant}.InvokeTask``)."""
    return re.sub(r"[{}]", "", text)


def _channel_parameters(address: str) -> dict[str, Any]:
    names = re.findall(r"\{(\w+)\}", address)
    return {"parameters": {n: _ref("components", "parameters", n) for n in names}} if names else {}


def _parameters_in(channels: dict[str, Any]) -> set[str]:
    return {name for channel in channels.values() for name in channel.get("parameters", {})}


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


def file_name(mode: Mode) -> str:
    return f"{mode}.json"


def rendered_documents() -> dict[str, str]:
    """Both modes' documents, by file name, in the committed form."""
    return {file_name(mode): render(document(mode)) for mode in MODES}


def write_documents(out: Path = DEFAULT_DIR) -> list[Path]:
    """Write each mode's document into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_documents().items():
        path = out / name
        path.write_text(text)
        written.append(path)
    return written
