"""Faults the runner injects from outside the services: kill -9 and restart a process, publish a message twice, resubmit an order, publish a stray or late copy,
publish poison, forge a message (the broker's own faults are in ``broker_faults.py``, a cluster node's in
``cluster_faults.py``). Each waits for its trigger
(the tap seeing the nth message of a type, or a delay) and counts what it did."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import structlog
from yarl import URL

from orchestration.bootstrap import default_definition_path
from orchestration.processes import REPLY_KEY
from scenarios.run_state import Run
from scenarios.scenario import Injector, Need
from scenarios.settle import statuses_now
from shared.domain.contracts import MESSAGE_TYPES, Message, PaymentCharged, routing_key
from shared.stores.orders import FINAL_STATUSES
from shared.transport.broker import Broker, PublishFailed
from shared.transport.observed import Observed
from shared.transport.wire import ExchangeKind, Outgoing

log = structlog.get_logger()


RunInjector = Injector[Run]
"""A fault injector of this runner (the Protocol itself lives with the scenario: scenarios/scenario.py)."""


@dataclass(frozen=True)
class Trigger:
    """When to strike: once the tap has seen the nth message of ``after`` (or right away), plus a delay."""

    after: str | None = None
    nth: int = 1
    delay_s: float = 0.0

    async def wait(self, run: Run) -> None:
        if self.after:
            await run.trace.seen(self.after, self.nth)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)  # the fault's own timing


@dataclass(frozen=True)
class KillService:
    """kill -9 a service, keep it down for a while, start it again."""

    needs: ClassVar[frozenset[Need]] = frozenset({Need.PROCESSES})
    service: str
    when: Trigger = Trigger()
    down_s: float = 0.5

    async def inject(self, run: Run) -> None:
        await self.when.wait(run)
        process = run.fleet[self.service]
        async with run.fleet.held(process):
            await process.kill()
            run.count(f"kill {self.service}")
            await asyncio.sleep(self.down_s)  # how long the service stays down is the fault
            await run.fleet.restart(process)


@dataclass(frozen=True)
class ChangeDefinition:
    """kill -9 the orchestrator, rename states in its definition and start it again on the edited file:
    executions in flight must finish on the definition they started on (new ones start on the edit)."""

    needs: ClassVar[frozenset[Need]] = frozenset({Need.PROCESSES})
    rename: tuple[tuple[str, str], ...]
    when: Trigger = Trigger()
    down_s: float = 0.5

    async def inject(self, run: Run) -> None:
        await self.when.wait(run)
        process = run.fleet["orchestrator"]
        async with run.fleet.held(process):
            await process.kill()
            run.count("kill orchestrator")
            source = Path(process.settings.options.get("definition") or default_definition_path())
            text = source.read_text()
            for old, new in self.rename:
                text = text.replace(f'"{old}"', f'"{new}"')
            edited = run.options.out_dir / "definition.edited.asl.json"
            edited.write_text(text)
            process.settings = replace(process.settings, options={**process.settings.options, "definition": str(edited)})
            run.count("definition edited")
            await asyncio.sleep(self.down_s)  # how long the orchestrator stays down is the fault
            await run.fleet.restart(process)


def with_fresh_id(seen: Observed) -> Observed:
    """The same message under a new message id (property and body), as a sender that forgot its ids sends it."""
    message_id = f"copy-{uuid.uuid4()}"
    body = json.dumps({**json.loads(seen.body), "message_id": message_id}).encode()
    return replace(seen, message_id=message_id, body=body)


@dataclass(frozen=True)
class Duplicate:
    """Publish an exact copy (same message id) of the nth message of a type: an at-least-once duplicate.

    ``fresh_id``: the copy gets a new message id, as a sender that retries without remembering its ids
    would send it (only a business key tells it is the same step). ``when``: wait for this too (a copy
    that arrives after the order's compensation)."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    type: str
    nth: int = 1
    fresh_id: bool = False
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        seen = await run.trace.seen(self.type, self.nth)
        await self.when.wait(run)
        await republish(run, with_fresh_id(seen) if self.fresh_id else seen)
        run.count(f"duplicate {self.type}{' under a new id' if self.fresh_id else ''}")


@dataclass(frozen=True)
class Resubmit:
    """A client that sends its order again: the nth PlaceOrder published once more under a new message id, same
    order id (a retry after a timeout, a double click). ``after_end``: only once the order has finished."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    nth: int = 1
    after_end: bool = False
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        seen = await run.trace.seen("PlaceOrder", self.nth)
        await self.when.wait(run)
        if self.after_end:
            await finished(run, seen.correlation_id or "")
        await republish(run, with_fresh_id(seen))
        run.count("order resubmitted under a new message id")


@dataclass(frozen=True)
class Stray:
    """A copy of the nth message of a type for an order nobody placed (new order id, new message id), published
    as its own publisher would: a message from another system, an old test, a misrouted tenant."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    type: str
    nth: int = 1
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        seen = await run.trace.seen(self.type, self.nth)
        await self.when.wait(run)
        await republish(run, for_unknown_order(seen))
        run.count(f"stray {self.type}")


@dataclass(frozen=True)
class Late:
    """A copy of the nth message of a type under a new message id, published once its order has finished (a
    message that spent the whole saga in a retry loop somewhere: PaymentCharged after the refund)."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    type: str
    nth: int = 1
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        seen = await run.trace.seen(self.type, self.nth)
        await self.when.wait(run)
        await finished(run, seen.correlation_id or "")
        await republish(run, with_fresh_id(seen))
        run.count(f"late {self.type}")


async def finished(run: Run, order_id: str, every_s: float = 0.05) -> None:
    """Wait until an order has a final status in the coordinator's database (the run's deadline bounds it)."""
    while statuses_now(run.coordinator_db).get(order_id) not in FINAL_STATUSES:
        await asyncio.sleep(every_s)  # polling the coordinator's database; the runner cancels us at its deadline


def for_unknown_order(seen: Observed) -> Observed:
    """The same message for an order nobody placed: every mention of its order id changed, a new message id."""
    old = seen.correlation_id or ""
    order_id = f"stray-{uuid.uuid4().hex[:12]}"
    copy = with_fresh_id(seen)
    body = copy.body.decode().replace(old, order_id).encode() if old else copy.body
    return replace(copy, body=body, correlation_id=order_id)


@dataclass(frozen=True)
class Poison:
    """Publish messages no service can decode onto a queue that sagas use."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    routing_key: str
    exchange: str = "events"
    count: int = 3
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        await self.when.wait(run)
        exchange = run.broker.topology.exchange(self.exchange)  # type: ignore[arg-type]
        bodies = [(b"\x00 this is not json", "OrderPlaced"), (b"{}", "NoSuchMessage"), (b'{"correlation_id": 1}', "PlaceOrder")]
        for i in range(self.count):
            body, type_name = bodies[i % len(bodies)]
            await run.broker.publish_raw(exchange, self.routing_key, body, type=type_name,
                                         message_id=f"poison-{uuid.uuid4().hex[:12]}",
                                         headers={"x-published-us": time.time_ns() // 1000})  # fmt: skip
            run.count("poison")


@dataclass(frozen=True)
class OutOfBoundsOrder:
    """Publish well-formed PlaceOrders out of bounds straight to the broker, past the edge (a client that does
    not check): one with an amount of 10^30, one of over 64 KiB (a 100 KB customer id). Consumers must
    dead-letter each at its first delivery."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    when: Trigger = Trigger()

    async def inject(self, run: Run) -> None:
        await self.when.wait(run)
        for hostile in ({"amount_cents": 10**30}, {"customer_id": "c" * 100_000}):
            order_id = f"oob-{uuid.uuid4().hex[:12]}"
            order = {"order_id": order_id, "customer_id": "c-1", "sku": "KEYBOARD", "quantity": 1, "amount_cents": 4999,
                     "card_number": "4242424242424242", "destination": "Berlin"} | hostile  # fmt: skip
            body = json.dumps({"correlation_id": order_id, "order": order}).encode()
            await run.broker.publish_raw(run.broker.topology.exchange("commands"), "orders.PlaceOrder", body,
                                         type="PlaceOrder", message_id=f"oob-{uuid.uuid4().hex[:12]}",
                                         correlation_id=order_id, content_type="application/json",
                                         headers={"x-published-us": time.time_ns() // 1000})  # fmt: skip
            run.count("out-of-bounds PlaceOrder")


@dataclass(frozen=True)
class Forge:
    """Publish a forged ``type`` for the order of the nth ``after`` message (or, ``unknown_order``, for a copy of
    it under an id nobody placed), as someone who may not send it: the runner's own broker user, or
    (``as_service``) another service's user, whom the broker's topic permissions stop outright. Then wait until a
    consumer dead-lettered it or one of ``until`` shows what it set off."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    type: str
    after: str
    exchange: ExchangeKind = "events"
    until: tuple[str, ...] = ()
    as_service: str | None = None
    unknown_order: bool = False
    nth: int = 1

    async def inject(self, run: Run) -> None:
        seen = await run.trace.seen(self.after, self.nth)
        trigger = json.loads(seen.body)
        order_id = seen.correlation_id or ""
        if self.unknown_order:
            order_id = f"forged-{uuid.uuid4().hex[:12]}"
            trigger["order"] = {**trigger["order"], "order_id": order_id}
        forged = self.forged(order_id, trigger)
        out = Outgoing.of(forged, self.exchange, routing_key(forged), reply_to=self.reply_to(run))
        if self.as_service is None:
            await run.broker.publish(out)
            run.count(f"forged {self.type}")
        elif not await self._published_as(run, self.as_service, out):
            run.count(f"forged {self.type} refused by the broker")
            return
        await run.trace.record(lambda r: (r.dead_lettered and r.message_id == forged.message_id)
                               or (r.type in self.until and r.correlation_id == forged.correlation_id))  # fmt: skip

    def forged(self, order_id: str, trigger: dict[str, Any]) -> Message:
        """A well-formed message of ``type`` for that order (the order itself taken from the trigger message)."""
        cls = MESSAGE_TYPES[self.type]
        fields: dict[str, Any] = {"order": trigger["order"]} if "order" in cls.model_fields else {"order_id": order_id}
        if cls is PaymentCharged:
            fields |= {"payment_id": "forged", "amount_cents": trigger["order"]["amount_cents"]}
        return cls(correlation_id=order_id, causation_id=trigger.get("message_id"), **fields)

    def reply_to(self, run: Run) -> str | None:
        """A forged command asks for its answer where the orchestrator listens, as a real one would."""
        if self.exchange != "commands":
            return None
        return REPLY_KEY

    @staticmethod
    async def _published_as(run: Run, service: str, out: Outgoing) -> bool:
        async with connected_as(run, service) as broker:
            try:
                await broker.publish(out)
                return True
            except PublishFailed as exc:
                log.debug("the broker refused a forged message", service=service, error=str(exc))
                return False


async def republish(run: Run, seen: Observed) -> None:
    """Publish an exact copy of a message, as its own publisher would again: through that service's user when
    services have their own (so the copy names the same user_id), else through the runner's connection."""
    publisher = next((s for s, url in run.credentials.items() if URL(url).user == seen.user_id), None)
    if publisher is None:
        await run.broker.republish(seen)
        return
    async with connected_as(run, publisher) as broker:
        await broker.republish(seen)


async def forge_copy(run: Run, seen: Observed) -> None:
    """Publish a message like one the tap saw, under a new message id, through the runner's own user: a stray
    or forged copy that only a consumer's publisher check can tell from the real thing."""
    body = json.loads(seen.body)
    body["message_id"] = f"forged-{uuid.uuid4()}"  # marked, so chaos never duplicates a forgery as a real message
    await run.broker.publish_raw(seen.exchange, seen.routing_key, json.dumps(body).encode(), type=seen.type,
                                 message_id=body["message_id"], correlation_id=seen.correlation_id,
                                 reply_to=seen.reply_to, content_type="application/json", user_id=run.broker.user,
                                 headers={"x-published-us": time.time_ns() // 1000})  # fmt: skip


@asynccontextmanager
async def connected_as(run: Run, service: str) -> AsyncIterator[Broker]:
    """A connection of the runner's that logs in as one service's own broker user."""
    broker = await Broker.connect(run.credentials[service], run.broker.topology, f"runner-as-{service}", declare=False)
    try:
        yield broker
    finally:
        await broker.close()
