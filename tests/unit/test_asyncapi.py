"""The AsyncAPI documents (docs/asyncapi) are valid AsyncAPI 3.0.0, describe the topology the code declares,
and are exactly what `sagalab schema` generates from the code."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from choreography.reactions import REACTIONS
from sagalab.asyncapi import NAMES, document, rendered_documents
from sagalab.report.event_graph import step_outcomes
from scenarios.topologies import queue_specs
from shared.config import MODES, Mode

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "asyncapi"
SPEC = ROOT / "tests" / "data" / "asyncapi" / "asyncapi-3.0.0.schema.json"


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(json.loads(SPEC.read_text()))


def _committed(mode: Mode) -> dict[str, Any]:
    return json.loads((DOCS / f"{mode}.json").read_text())  # type: ignore[no-any-return]


def _errors(doc: dict[str, Any]) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in _validator().iter_errors(doc)]


def _names(refs: list[dict[str, str]]) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[1] for ref in refs}


def _by_service(doc: dict[str, Any], action: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for op in doc["operations"].values():
        if op["action"] == action:
            found.setdefault(op["tags"][0]["name"], set()).update(_names(op["messages"]))
    return found


def test_committed_documents_match_the_code() -> None:
    """One document per mode, unchanged; regenerate with `sagalab schema` after editing contracts or topology."""
    expected = rendered_documents()
    committed = {p.name: p.read_text() for p in DOCS.glob("*.json")}
    assert sorted(committed) == sorted(expected) == [f"{mode}.json" for mode in sorted(MODES)]
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert not stale, f"{stale} differ from the code; run `sagalab schema` to regenerate docs/asyncapi"


@pytest.mark.parametrize("mode", MODES)
def test_documents_are_valid_asyncapi_3(mode: Mode) -> None:
    """Each document validates against the AsyncAPI 3.0.0 JSON Schema, its AMQP bindings included."""
    assert _committed(mode)["asyncapi"] == "3.0.0"
    assert _errors(_committed(mode)) == []


def test_the_specification_schema_refuses_a_broken_document() -> None:
    """The vendored schema does bite: a bad AMQP binding and a 2.x-style operation are both reported."""
    doc = document("choreography")
    doc["channels"]["queue.payment"]["bindings"]["amqp"]["is"] = "mailbox"
    doc["operations"]["payment.receives"]["action"] = "subscribe"
    errors = _errors(doc)
    assert any(e.startswith("/channels/queue.payment") for e in errors), errors
    assert any(e.startswith("/operations/payment.receives") for e in errors), errors


@pytest.mark.parametrize("mode", MODES)
def test_references_resolve_and_operations_use_their_channels_messages(mode: Mode) -> None:
    """The semantic rules of the AsyncAPI parser: every $ref resolves, an operation's (and its reply's)
    messages are its channel's, and a channel's parameters are exactly the placeholders of its address."""
    doc = _committed(mode)
    refs = re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(doc))
    for ref in refs:
        node: Any = doc
        for part in ref.split("/"):
            assert isinstance(node, dict) and part in node, f"#/{ref} does not resolve"
            node = node[part]
    for op_id, op in doc["operations"].items():
        for part in (op, op.get("reply")):
            if part:
                channel = part["channel"]["$ref"]
                assert all(m["$ref"].startswith(f"{channel}/messages/") for m in part["messages"]), op_id
    for cid, channel in doc["channels"].items():
        assert set(re.findall(r"\{(\w+)\}", channel["address"])) == set(channel.get("parameters", {})), cid


@pytest.mark.parametrize("mode", MODES)
def test_queue_channels_are_the_queues_the_code_declares(mode: Mode) -> None:
    """Every queue of the mode appears with its name, its bindings and its declaration arguments."""
    queues = {c["address"]: c for c in _committed(mode)["channels"].values() if c["bindings"]["amqp"]["is"] == "queue"}
    for spec in queue_specs(mode):
        channel = queues[NAMES.queue(spec)]
        bound = [(NAMES.exchange(b.exchange), b.routing_key) for b in spec.bindings]
        assert [(b["exchange"], b["routingKey"]) for b in channel["x-amqp-queue-bindings"]] == bound
        assert channel["x-amqp-queue-arguments"] == NAMES.queue_arguments_for(spec)


def test_choreography_follows_the_reaction_table() -> None:
    """Each domain service receives the events its reactions wait for and publishes its domain outcomes."""
    doc = _committed("choreography")
    receives, sends = _by_service(doc, "receive"), _by_service(doc, "send")
    for service in ("payment", "inventory", "shipping"):
        reactions = [r for r in REACTIONS if r.service == service]
        assert receives[service] == {r.when.__name__ for r in reactions}
        assert sends[service] == {o.__name__ for r in reactions for o in step_outcomes(r.does)}
    assert sends["client"] == {"PlaceOrder"} and sends["orders"] == {"OrderPlaced"}
    assert "PlaceOrder" in receives["orders"] and "replies" not in doc["channels"]


def test_orchestration_commands_carry_their_replies() -> None:
    """A command names the replies it expects on the replies exchange, at the address its reply_to gives."""
    doc = _committed("orchestration")
    charge = doc["operations"]["orchestrator.sends.ChargePayment"]
    assert _names(charge["reply"]["messages"]) == {"PaymentCharged", "PaymentDeclined", "TaskFailed"}
    replies = doc["channels"]["replies"]
    assert replies["address"] == "{replyTo}" and replies["bindings"]["amqp"]["exchange"]["name"] == "{namespace}.replies"
    commands = doc["channels"]["commands.payment.ChargePayment"]
    assert commands["address"] == "payment.ChargePayment"
    assert commands["bindings"]["amqp"]["exchange"] == {"name": "{namespace}.commands", "type": "topic",
                                                        "durable": True, "autoDelete": False, "vhost": "/"}  # fmt: skip
    receives = _by_service(doc, "receive")
    assert receives["payment"] == {"ChargePayment", "RefundPayment"} and receives["{participant}"] == {"InvokeTask"}
    assert {"PaymentCharged", "TaskSucceeded", "TaskFailed"} <= receives["orchestrator"]
