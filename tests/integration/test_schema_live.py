"""`sagalab schema` describes the traffic of real runs.

Every message the services published, read back from their outboxes (the PlaceOrders, which no outbox
holds, rebuilt from the orders they placed), must validate against its type's JSON Schema and against the
payload schema of its mode's AsyncAPI document, and must have gone out on a channel where that document
says its sender sends that type.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from sagalab.cli import main
from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.topologies import coordinator
from shared.config import MODES, Mode
from shared.domain.contracts import Order, PlaceOrder, routing_key
from shared.transport.wire import encode

from .test_samples import lambdas
from .test_samples import run as execute_sample

pytestmark = pytest.mark.broker

@dataclass(frozen=True)
class Published:
    """One message as it went out: who sent it, where, and its JSON body."""

    mode: Mode
    sender: str
    exchange: str
    routing_key: str
    type: str
    body: dict[str, Any]


def outbox(db: Path, sender: str, mode: Mode) -> list[Published]:
    """Every message a service's outbox holds (each row is a message it published, or will)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT exchange, routing_key, type, body FROM outbox ORDER BY seq").fetchall()
        return [Published(mode, sender, exchange, key, kind, json.loads(body)) for exchange, key, kind, body in rows]
    finally:
        conn.close()


def run_messages(out_dir: Path, mode: Mode) -> list[Published]:
    """A run's messages: every service's outbox, and the client's PlaceOrder for each order it placed."""
    data = out_dir / "data"
    found = [m for db in sorted(data.glob("*.db")) for m in outbox(db, db.stem, mode)]
    conn = sqlite3.connect(f"file:{data / coordinator(mode)}.db?mode=ro", uri=True)
    try:
        orders = [Order.model_validate_json(body) for (body,) in conn.execute("SELECT body FROM orders")]
    finally:
        conn.close()
    for order in orders:
        place = PlaceOrder(correlation_id=order.order_id, order=order)
        found.append(Published(mode, "client", "commands", routing_key(place), "PlaceOrder", json.loads(encode(place))))
    return found


class Contracts:
    """What `sagalab schema` wrote, as validators: a JSON Schema per type, a document per mode."""

    def __init__(self, docs: Path) -> None:
        self.schemas = {p.name.removesuffix(".schema.json"): Draft202012Validator(json.loads(p.read_text()))
                        for p in (docs / "schemas").glob("*.schema.json")}  # fmt: skip
        self.documents = {mode: json.loads((docs / "asyncapi" / f"{mode}.json").read_text()) for mode in MODES}
        self.sends = {mode: _documented_sends(doc) for mode, doc in self.documents.items()}

    def problems(self, m: Published) -> list[str]:
        """Why this message breaks its contract; empty when it keeps it."""
        found = [f"schema: {e.message}" for e in self.schemas[m.type].iter_errors(m.body)]
        registry = Registry().with_resource("urn:doc", Resource(self.documents[m.mode], DRAFT7))
        payload = Draft7Validator({"$ref": f"urn:doc#/components/schemas/{m.type}"}, registry=registry)
        found += [f"asyncapi payload: {e.message}" for e in payload.iter_errors(m.body)]
        if not any(sender == m.sender and exchange == m.exchange and kind == m.type and address.fullmatch(m.routing_key)
                   for sender, exchange, address, kind in self.sends[m.mode]):  # fmt: skip
            found.append(f"not a documented send: {m.exchange} {m.routing_key}")
        return found


def _documented_sends(doc: dict[str, Any]) -> list[tuple[str, str, re.Pattern[str], str]]:
    """(sender, exchange kind, routing key pattern, type) of every send operation; placeholders match anything."""
    sends = []
    for op in doc["operations"].values():
        if op["action"] != "send":
            continue
        channel = doc["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]
        exchange = channel["bindings"]["amqp"]["exchange"]["name"].rsplit(".", 1)[1]
        address = re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(channel["address"])))
        sends += [(op["tags"][0]["name"], exchange, address, m["$ref"].rsplit("/", 1)[1]) for m in op["messages"]]
    return sends


def _verdict(contracts: Contracts, messages: list[Published]) -> tuple[set[str], list[str]]:
    failures = [f"{m.mode} {m.sender} {m.type} {m.body.get('message_id')}: {p}"
                for m in messages for p in contracts.problems(m)]  # fmt: skip
    return {m.type for m in messages}, failures


async def _run_all(runs: list[tuple[str, Mode]], amqp_url: str, namespace: str, tmp_path: Path) -> list[Published]:
    messages: list[Published] = []
    for name, mode in runs:
        out = tmp_path / f"{name}-{mode}"
        result = await runner.run(runner.RunOptions(SCENARIOS[name], mode, amqp_url, out, namespace))
        assert result.expectation_met, (name, mode, result.model_dump_json())
        messages += run_messages(out, mode)
    return messages


async def test_the_saga_messages_of_real_runs_keep_their_contracts(amqp_url: str, namespace: str, tmp_path: Path
                                                                   ) -> None:  # fmt: skip
    """`mixed` (every outcome) in both modes and a transient failure: 16 types, every message valid and routed as documented."""
    assert main(["schema", "--out", str(tmp_path / "docs")]) == 0
    runs: list[tuple[str, Mode]] = [("mixed", mode) for mode in MODES] + [("transient-failure", "orchestration")]
    messages = await _run_all(runs, amqp_url, namespace, tmp_path)
    contracts = Contracts(tmp_path / "docs")
    seen, failures = _verdict(contracts, messages)
    assert not failures, "\n".join(failures)
    assert len(messages) > 600
    assert seen == {"PlaceOrder", "OrderPlaced", "ChargePayment", "PaymentCharged", "PaymentDeclined", "RefundPayment",
                    "PaymentRefunded", "ReserveStock", "StockReserved", "OutOfStock", "ReleaseStock", "StockReleased",
                    "ScheduleShipment", "ShipmentScheduled", "ShipmentFailed", "TaskFailed"}  # fmt: skip
    wrong = replace(messages[0], routing_key="nowhere.Else", body={**messages[0].body, "surprise": 1})
    assert [p.split(":")[0] for p in contracts.problems(wrong)] == ["schema", "asyncapi payload", "not a documented send"]


@pytest.mark.slow  # waits out a task timeout
async def test_a_cancelled_shipment_keeps_its_contract(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """slow-service in orchestration: the timeout's CancelShipment and its ShipmentCancelled are valid and routed as documented."""
    assert main(["schema", "--out", str(tmp_path / "docs")]) == 0
    messages = await _run_all([("slow-service", "orchestration")], amqp_url, namespace, tmp_path)
    seen, failures = _verdict(Contracts(tmp_path / "docs"), messages)
    assert not failures, "\n".join(failures)
    assert {"CancelShipment", "ShipmentCancelled"} <= seen


async def test_the_generic_participant_protocol_keeps_its_contract(amqp_url: str, namespace: str, tmp_path: Path
                                                                   ) -> None:  # fmt: skip
    """`sagalab execute` of a public sample against `lambdas`: InvokeTask, TaskSucceeded, TaskFailed and Notification."""
    assert main(["schema", "--out", str(tmp_path / "docs")]) == 0
    messages: list[Published] = []
    async with lambdas(amqp_url, namespace, tmp_path / "data"):
        for prefix in ("4001", "1001"):  # succeeds and notifies; fails its first step
            order = {"order_id": f"{prefix}-ae45-4b27", "customer_id": "c-1", "order_date": "2018-10-19T10:50:16+08:00",
                     "items": [{"item_id": "987", "qty": 1.0, "description": "Cart item", "unit_price": 19.99}]}  # fmt: skip
            outcome = await execute_sample("long-lived-transaction", order, amqp_url, namespace, tmp_path / "executions")
            messages += outbox(outcome.db_path, "orchestrator", "orchestration")
    messages += outbox(tmp_path / "data" / "lambdas.db", "{participant}", "orchestration")
    seen, failures = _verdict(Contracts(tmp_path / "docs"), messages)
    assert not failures, "\n".join(failures)
    assert seen == {"InvokeTask", "TaskSucceeded", "TaskFailed", "Notification"}
