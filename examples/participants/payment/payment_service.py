"""A payment service for sagalab written against docs/participant-protocol.md alone.

It imports nothing of sagalab: only the standard library and aio-pika (any AMQP 0-9-1 client would do). It
serves both modes (events in choreography, commands in orchestration), keeps its own SQLite store, is
idempotent by message id and by business step, refuses a charge after its refund (the barrier), and answers
the ledger query, which is how sagalab's oracle learns what it charged and refunded.

Environment (set by ``sagalab run|compare --participant payment="python payment_service.py"``):
  AMQP_URL            the broker (default amqp://guest:guest@127.0.0.1:5672/)
  SAGALAB_NAMESPACE   prefix of every exchange and queue (default sagalab)
  SAGALAB_MODE        choreography, orchestration, or unset for both
  SAGALAB_DATA_DIR    where to keep payment-example.db (default: the current folder)
  SAGALAB_PARENT_PIPE 1: stdin is the runner's pipe; exit when it closes
Misbehaviour, to see the oracle catch it:
  EXAMPLE_DOUBLE_CHARGE=1  record every charge twice (the messages still look right)
  EXAMPLE_NEVER_REFUND=1   answer refunds without recording them
  EXAMPLE_SILENT_LEDGER=1  answer the runner's ping, never a ledger query about orders
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sqlite3
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

NAME = "payment"
DECLINED_CARDS = {"4000000000000002"}  # the card network's test card for a generic decline
CARD_LIMIT_CENTS = 1_000_000

# What each incoming message type asks of us: (business step, what to do).
CHOREOGRAPHY_EVENTS = {
    "orders.OrderPlaced": "charge",
    "inventory.OutOfStock": "refund",
    "inventory.StockReleased": "refund",
    "inventory.StockReleaseFailed": "refund",
}
ORCHESTRATION_COMMANDS = {"payment.ChargePayment": "charge", "payment.RefundPayment": "refund"}
STEP_OF_TYPE = {"OrderPlaced": "charge", "ChargePayment": "charge", "OutOfStock": "refund",
                "StockReleased": "refund", "StockReleaseFailed": "refund", "RefundPayment": "refund"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (payment_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (message_id TEXT PRIMARY KEY, digest TEXT NOT NULL, reply TEXT);
CREATE TABLE IF NOT EXISTS steps (order_id TEXT, step TEXT, message_id TEXT NOT NULL, reply TEXT NOT NULL,
                                  PRIMARY KEY (order_id, step));
"""


def now() -> str:
    return datetime.now(UTC).isoformat()


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"service": "payment-example", "event": event, **fields}), flush=True)


def digest(kind: str, body: dict[str, Any]) -> str:
    """What a message asks, without its envelope's id, time and cause: a reused id with another body differs."""
    content = {k: v for k, v in body.items() if k not in ("message_id", "occurred_at", "causation_id")}
    return hashlib.sha256(json.dumps([kind, content], sort_keys=True).encode()).hexdigest()


class Store:
    """The service's own SQLite file: its ledger, its inbox and its business keys, changed in one transaction."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(SCHEMA)

    def seen(self, message_id: str) -> tuple[str, str | None] | None:
        return self.db.execute("SELECT digest, reply FROM inbox WHERE message_id = ?", (message_id,)).fetchone()

    def step(self, order_id: str, step: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT message_id, reply FROM steps WHERE order_id = ? AND step = ?",
                              (order_id, step)).fetchone()
        return row

    def ledger(self, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        marks = ",".join("?" * len(order_ids))
        charges = self.db.execute(f"SELECT order_id, amount_cents, payment_id FROM charges WHERE order_id IN ({marks})",
                                  order_ids).fetchall()
        refunds = self.db.execute(f"SELECT order_id, amount_cents FROM refunds WHERE order_id IN ({marks})",
                                  order_ids).fetchall()
        return {"charges": [{"order_id": o, "amount_cents": a, "payment_id": p} for o, a, p in charges],
                "refunds": [{"order_id": o, "amount_cents": a} for o, a in refunds]}


def charge(db: sqlite3.Connection, order: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Charge the order's card, or decline it; returns the outcome's type and fields."""
    if order["card_number"] in DECLINED_CARDS:
        return "PaymentDeclined", {"order": order, "reason": "card declined by the issuer"}
    if order["amount_cents"] > CARD_LIMIT_CENTS:
        return "PaymentDeclined", {"order": order, "reason": "amount over the card's limit"}
    payment_id = str(uuid.uuid4())
    db.execute("INSERT INTO charges VALUES (?, ?, ?)", (payment_id, order["order_id"], order["amount_cents"]))
    if os.environ.get("EXAMPLE_DOUBLE_CHARGE") == "1":  # the misbehaviour the oracle must catch
        db.execute("INSERT INTO charges VALUES (?, ?, ?)", (str(uuid.uuid4()), order["order_id"], order["amount_cents"]))
    return "PaymentCharged", {"order": order, "payment_id": payment_id, "amount_cents": order["amount_cents"]}


def refund(db: sqlite3.Connection, order_id: str) -> tuple[str, dict[str, Any]]:
    """Refund the order's charge; with no charge, refund nothing (the step's row is the barrier's tombstone)."""
    row = db.execute("SELECT amount_cents FROM charges WHERE order_id = ? LIMIT 1", (order_id,)).fetchone()
    amount = row[0] if row else 0
    if row and os.environ.get("EXAMPLE_NEVER_REFUND") != "1":
        db.execute("INSERT INTO refunds (order_id, amount_cents) VALUES (?, ?)", (order_id, amount))
    return "PaymentRefunded", {"order_id": order_id, "amount_cents": amount}


class PaymentService:
    def __init__(self, channel: aio_pika.abc.AbstractChannel, events: Any, replies: Any, store: Store,
                 user: str | None) -> None:
        self.channel, self.events, self.replies, self.store, self.user = channel, events, replies, store, user
        self.one_at_a_time = asyncio.Lock()  # one SQLite writer: handle deliveries in turn

    async def on_message(self, delivery: AbstractIncomingMessage) -> None:
        # process(): a handler that raises (a bug, a lost connection) requeues the delivery; the queue's
        # delivery limit dead-letters it after 5 tries. The handlers ack or reject themselves when done.
        async with self.one_at_a_time, delivery.process(requeue=True, ignore_processed=True):
            try:
                body = json.loads(delivery.body)
                if not isinstance(body, dict) or not delivery.type:
                    raise ValueError("not a JSON object with a type")
                if delivery.type in STEP_OF_TYPE and not isinstance(body.get("order", body.get("order_id")), dict | str):
                    raise ValueError(f"{delivery.type} without an order")
            except ValueError as exc:
                log("dead-lettered", reason=str(exc))
                await delivery.reject(requeue=False)
                return
            if delivery.type == "QueryLedger":
                await self.answer_ledger(delivery, body)
            elif delivery.type in STEP_OF_TYPE:
                await self.handle(delivery, body)
            else:
                log("dead-lettered", reason=f"no handler for {delivery.type}")
                await delivery.reject(requeue=False)

    async def handle(self, delivery: AbstractIncomingMessage, body: dict[str, Any]) -> None:
        kind, message_id = delivery.type or "", body.get("message_id")
        if not message_id or message_id != delivery.message_id:
            log("dead-lettered", reason="no message id")  # rule 7: never invent one
            await delivery.reject(requeue=False)
            return
        step = STEP_OF_TYPE[kind]
        order_id = body["order"]["order_id"] if "order" in body else body["order_id"]
        replying = delivery.reply_to  # set for an orchestrator's command; an event has no asker
        out: tuple[str, dict[str, Any]] | None
        db = self.store.db
        db.execute("BEGIN IMMEDIATE")
        try:
            # Rule 6, the barrier, before the inbox: no charge once the order's refund is recorded.
            if step == "charge" and self.store.step(order_id, "refund") is not None:
                out = ("PaymentDeclined", {"order": body["order"], "reason": "refund already recorded: charge refused"})
                db.execute("COMMIT")
                await self.send(self.envelope(out, body), replying)
                await delivery.ack()
                return
            seen = self.store.seen(message_id)
            if seen is not None:  # rule 2: a repeated message is answered with the stored reply, never redone
                db.execute("COMMIT")
                if seen[0] != digest(kind, body):
                    log("dead-lettered", reason=f"message id {message_id} reused with another body")
                    await delivery.reject(requeue=False)
                    return
                if replying and seen[1]:
                    await self.publish_reply(json.loads(seen[1]), replying)
                await delivery.ack()
                return
            first = self.store.step(order_id, step)
            if first is not None:  # rule 5: the step was done under another id: answer with its first outcome
                stored = json.loads(first[1])
                out = (stored["type"], {k: v for k, v in stored["body"].items()
                                        if k not in ("message_id", "correlation_id", "causation_id", "occurred_at")})
                reply = self.envelope(out, body) if replying else None
            else:
                out = charge(db, body["order"]) if step == "charge" else refund(db, order_id)
                reply = self.envelope(out, body)
                db.execute("INSERT INTO steps VALUES (?, ?, ?, ?)", (order_id, step, message_id, json.dumps(reply)))
            db.execute("INSERT INTO inbox VALUES (?, ?, ?)",
                       (message_id, digest(kind, body), json.dumps(reply) if reply else None))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if reply is not None and (replying or first is None):  # an event's outcome goes out the first time only
            await self.send(reply, replying)
        await delivery.ack()  # rule 4: ack last, after commit and confirmed publish
        log("handled", type=kind, order_id=order_id, answer=out[0] if out else None)

    def envelope(self, out: tuple[str, dict[str, Any]], cause: dict[str, Any]) -> dict[str, Any]:
        kind, fields = out
        return {"type": kind, "body": {"message_id": str(uuid.uuid4()), "correlation_id": cause["correlation_id"],
                                       "causation_id": cause["message_id"], "occurred_at": now(), **fields}}

    async def send(self, reply: dict[str, Any], reply_to: str | None) -> None:
        await (self.publish_reply(reply, reply_to) if reply_to else self.publish_event(reply))

    def amqp_message(self, reply: dict[str, Any]) -> aio_pika.Message:
        body = reply["body"]
        return aio_pika.Message(json.dumps(body).encode(), type=reply["type"], message_id=body["message_id"],
                                correlation_id=body["correlation_id"], app_id=NAME, user_id=self.user,
                                content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

    async def publish_reply(self, reply: dict[str, Any], reply_to: str) -> None:
        await self.replies.publish(self.amqp_message(reply), routing_key=reply_to)

    async def publish_event(self, event: dict[str, Any]) -> None:
        await self.events.publish(self.amqp_message(event), routing_key=f"{NAME}.{event['type']}")

    async def answer_ledger(self, delivery: AbstractIncomingMessage, query: dict[str, Any]) -> None:
        """The ledger query: what this service charged and refunded for the orders asked about."""
        if not delivery.reply_to:
            await delivery.reject(requeue=False)
            return
        if query.get("order_ids") and os.environ.get("EXAMPLE_SILENT_LEDGER") == "1":
            await delivery.ack()  # the misbehaviour: the oracle gets no answer about the orders
            return
        fields = self.store.ledger(list(query.get("order_ids") or []))
        report = {"type": "LedgerReport", "body": {
            "message_id": str(uuid.uuid4()), "correlation_id": query["correlation_id"],
            "causation_id": query["message_id"], "occurred_at": now(), "participant": NAME, **fields}}
        await self.publish_reply(report, delivery.reply_to)
        await delivery.ack()


async def main() -> None:
    url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    ns = os.environ.get("SAGALAB_NAMESPACE", "sagalab")
    mode = os.environ.get("SAGALAB_MODE", "")
    data_dir = Path(os.environ.get("SAGALAB_DATA_DIR", "."))
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if os.environ.get("SAGALAB_PARENT_PIPE") == "1":  # the runner is gone when its pipe closes
        def parent_gone() -> None:
            if not os.read(sys.stdin.fileno(), 512):
                loop.remove_reader(sys.stdin.fileno())
                stop.set()

        loop.add_reader(sys.stdin.fileno(), parent_gone)

    connection = await aio_pika.connect_robust(url)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=16)
    kind = aio_pika.ExchangeType.TOPIC
    events = await channel.declare_exchange(f"{ns}.events", kind, durable=True)
    commands = await channel.declare_exchange(f"{ns}.commands", kind, durable=True)
    replies = await channel.declare_exchange(f"{ns}.replies", kind, durable=True)
    queue = await channel.declare_queue(f"{ns}.{NAME}", durable=True, arguments={
        "x-queue-type": "quorum", "x-dead-letter-exchange": f"{ns}.dead-letter", "x-delivery-limit": 5})
    if mode in ("", "choreography"):
        for key in CHOREOGRAPHY_EVENTS:
            await queue.bind(events, key)
    if mode in ("", "orchestration"):
        for key in ORCHESTRATION_COMMANDS:
            await queue.bind(commands, key)
    await queue.bind(commands, f"{NAME}.QueryLedger")

    store = Store(data_dir / "payment-example.db")
    service = PaymentService(channel, events, replies, store, connection.url.user)
    tag = await queue.consume(service.on_message)
    log("ready", namespace=ns, mode=mode or "both")
    await stop.wait()
    await queue.cancel(tag)
    async with service.one_at_a_time:  # let the delivery in hand finish
        await connection.close()
    log("stopped")


if __name__ == "__main__":
    asyncio.run(main())
