"""Fault hooks on what a service sends, and the new crash points, without a broker: a stand-in broker records
what reaches it, and ``os.kill`` is replaced by a recorder."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scenarios.broker_faults import PauseBroker
from shared.domain.contracts import ChargePayment, PaymentCharged
from shared.runtime import faults as faults_module
from shared.runtime.faults import Faults, FaultSpecError, parse, persistent
from shared.runtime.relay import OutboxRelay
from shared.stores.sqlite import Database
from shared.transport.broker import PublishFailed
from shared.transport.wire import Outgoing


class Recorder:
    """A broker that confirms every publish and remembers the order they came in."""

    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, out: Outgoing) -> None:
        self.published.append(out.message_id)


def order(order_id: str) -> dict[str, object]:
    return {"order_id": order_id, "customer_id": "c", "sku": "KEYBOARD", "quantity": 1, "amount_cents": 1,
            "card_number": "4242424242424242", "destination": "Berlin"}  # fmt: skip


def charged(order_id: str = "o-1") -> Outgoing:
    return Outgoing.event(PaymentCharged.model_validate({"correlation_id": order_id, "order": order(order_id),
                                                         "payment_id": "p", "amount_cents": 1}))  # fmt: skip


def charge(order_id: str = "o-1") -> ChargePayment:
    return ChargePayment.model_validate({"correlation_id": order_id, "order": order(order_id)})


@pytest.fixture
def kills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    killed: list[int] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(sig))
    return killed


def test_the_new_forms_read_and_none_survives_a_restart() -> None:
    for spec in ("drop:PaymentCharged", "drop:PaymentCharged:2", "drop-at-publish:X:3", "delay-publish:X:1.5",
                 "delay-publish:X:2:1", "reorder:X", "reorder:X:4", "crash:before-ack:X", "crash:in-flight:X:2"):
        parse(spec)
        assert not persistent(spec)
    for bad in ("drop", "drop:X:two", "delay-publish:X", "reorder:X:1:2", "crash:whenever:X"):
        with pytest.raises(FaultSpecError):
            parse(bad)


async def test_drop_loses_only_the_nth_message_of_its_type() -> None:
    faults = Faults.of(["drop:PaymentCharged:2"])
    assert [await faults.outgoing(charged(f"o-{i}")) for i in range(3)] == [True, False, True]
    assert await faults.outgoing(Outgoing.event(charge()))  # another type goes out


async def test_a_dropped_message_is_counted_as_sent_and_a_refused_publish_stays_for_the_sweep(tmp_path: Path) -> None:
    """``drop``: the relay believes the message went (its row is marked sent, the broker never saw it), so no
    sweep brings it back. ``drop-at-publish``: no confirm, the row stays unsent and the sweep publishes it."""
    broker = Recorder()
    db = Database(tmp_path / "svc.db")
    lost, kept = charged("o-lost"), Outgoing.command(charge("o-kept"), "payment", reply_to="replies")
    with db.transaction() as conn:
        seqs = Database.stage(conn, "trigger", [lost, kept])
    relay = OutboxRelay(db, broker, faults=Faults.of(["drop:PaymentCharged", "drop-at-publish:ChargePayment"]))  # type: ignore[arg-type]
    rows = db.unsent()
    assert [r.seq for r in rows] == seqs
    assert not await relay.send(rows[1:])  # the first attempt at o-kept: no confirm
    assert await relay.send(rows[:1])  # o-lost: "sent", never published
    relay.flush()
    assert [r.message.message_id for r in db.unsent()] == [kept.message_id]
    assert await relay.sweep(older_than_s=0.0) == 1
    assert broker.published == [kept.message_id] and db.unsent() == []


async def test_drain_sends_what_the_broker_refused_and_leaves_a_fresh_row_to_the_replica_sending_it(
        tmp_path: Path) -> None:  # fmt: skip
    """At shutdown a replica publishes its own refused rows, not a row another replica staged a moment ago and is
    publishing now (that would be a copy); an old unsent row goes out whoever staged it."""
    broker = Recorder()
    db = Database(tmp_path / "svc.db")
    refused, fresh = Outgoing.command(charge("o-refused"), "payment", reply_to="replies"), charged("o-fresh")
    with db.transaction() as conn:
        Database.stage(conn, "trigger", [refused, fresh])
    relay = OutboxRelay(db, broker, faults=Faults.of(["drop-at-publish:ChargePayment"]))  # type: ignore[arg-type]
    assert not await relay.send([r for r in db.unsent() if r.message.message_id == refused.message_id])
    await relay.drain(deadline_s=1.0)
    assert broker.published == [refused.message_id]
    assert [r.message.message_id for r in db.unsent()] == [fresh.message_id]
    old = OutboxRelay(db, broker, sweep_after_s=0.0)  # the same row, once it is older than the sweep's threshold
    await old.drain(deadline_s=1.0)
    assert broker.published == [refused.message_id, fresh.message_id] and db.unsent() == []


async def test_drop_at_publish_refuses_the_first_count_attempts() -> None:
    faults = Faults.of(["drop-at-publish:PaymentCharged:2"])
    for _ in range(2):
        with pytest.raises(PublishFailed):
            await faults.outgoing(charged())
    assert await faults.outgoing(charged())


async def test_a_late_or_held_message_is_overtaken_by_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """``delay-publish`` sends its message late, ``reorder`` holds it until the next one has gone out: either
    way the message sent after it reaches the broker first."""
    for spec in ("delay-publish:PaymentCharged:0.3:1", "reorder:PaymentCharged"):
        broker = Recorder()
        faults = Faults.of([spec])

        async def publish(out: Outgoing, faults: Faults = faults, broker: Recorder = broker,
                          reached: asyncio.Event | None = None) -> None:  # fmt: skip
            if reached is not None:
                reached.set()  # the task goes on into the fault without yielding, and waits there
            if await faults.outgoing(out):
                await broker.publish(out)
                await faults.sent(out)

        first, second = charged("o-1"), charged("o-2")
        reached = asyncio.Event()
        held = asyncio.create_task(publish(first, reached=reached))
        await reached.wait()
        await publish(second)
        await held
        assert broker.published == [second.message_id, first.message_id], spec
    monkeypatch.setattr(faults_module, "REORDER_HOLD_S", 0.01)
    assert await Faults.of(["reorder:PaymentCharged"]).outgoing(charged())  # nothing came after it: sent anyway


async def test_before_ack_asks_the_host_to_publish_first_and_then_dies(kills: list[int]) -> None:
    faults = Faults.of(["crash:before-ack:ChargePayment:2"])
    assert not faults.acks_last(charge("o-1"))
    await faults.at("before-ack", charge("o-1"))
    assert kills == []
    assert faults.acks_last(charge("o-2"))
    await faults.at("after-commit", charge("o-2"))
    assert kills == []
    await faults.at("before-ack", charge("o-2"))
    assert len(kills) == 1


async def test_in_flight_dies_once_the_nth_message_it_sent_is_confirmed(kills: list[int]) -> None:
    faults = Faults.of(["crash:in-flight:ChargePayment:2"])
    command = Outgoing.command(charge(), "payment", reply_to="replies")
    await faults.at("in-flight", charge())  # a point for handled messages: never this crash
    await faults.sent(command)
    assert kills == []
    await faults.sent(command)
    assert len(kills) == 1


async def test_the_pause_puts_the_watermark_back_when_the_run_is_cancelled(tmp_path: Path) -> None:
    """Cancelled mid-pause (the run's deadline, Ctrl-C), the injector still restores the broker: a stand-in
    control records the calls, no broker is touched."""
    calls: list[tuple[str, ...]] = []

    class Control:
        async def memory_watermark(self) -> tuple[str, ...]:
            return ("0.4",)

        async def block_publishers(self) -> tuple[str, ...]:
            calls.append(("block",))
            return ("0.4",)

        async def unblock_publishers(self, watermark: tuple[str, ...]) -> None:
            calls.append(("unblock", *watermark))

    class Run:
        def broker_control(self) -> Control:
            return Control()

        def count(self, what: str) -> None:
            calls.append(("count", what))

    task = asyncio.create_task(PauseBroker(paused_s=60).inject(Run()))  # type: ignore[arg-type]
    while ("count", "broker paused") not in calls:
        await asyncio.sleep(0.01)  # polling the stand-in until the pause has begun
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls[-1] == ("unblock", "0.4")
