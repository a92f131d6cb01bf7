"""The orchestrator dedupes replies by the ones it applied, so a retried Task can take a participant's
stored reply re-sent unchanged (docs/participant-protocol.md), while a copy of an applied reply is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestration.bootstrap import load_current
from orchestration.orchestrator import Orchestrator
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA, load
from shared.domain.contracts import Message, Order, PaymentCharged, PlaceOrder, TaskFailed
from shared.runtime.routes import Tx
from shared.stores.sqlite import Database, OutboxRow
from shared.transport.wire import Outgoing

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ORDER = Order(order_id="ord-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Oslo")  # fmt: skip


class _Host:
    """Stands in for the service host: keeps what the timers send."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, rows: Sequence[OutboxRow]) -> None:
        self.sent += [row.message for row in rows]


class _Saga:
    """A Standard orchestrator on the checkout definition, with a clock the test moves."""

    def __init__(self, tmp_path: Path) -> None:
        self.now = T0
        self.db = Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA)
        resources = ResourceMap()
        self.orchestrator = Orchestrator(load_current(None, resources), resources, self.db, clock=lambda: self.now)
        self.host = _Host()
        self.orchestrator.host = self.host  # type: ignore[assignment]

    def place(self) -> Outgoing:
        with self.db.transaction() as conn:
            (charge,) = self.orchestrator.start(PlaceOrder(correlation_id="ord-1", order=ORDER), Tx(conn, None, None, {}))
        return charge

    def deliver(self, reply: Message, at: float) -> list[Outgoing]:
        self.now = T0 + timedelta(seconds=at)
        with self.db.transaction() as conn:
            return self.orchestrator.on_reply(reply, Tx(conn, None, None, {}))

    async def timers(self, at: float) -> list[Outgoing]:
        self.now = T0 + timedelta(seconds=at)
        before = len(self.host.sent)
        await self.orchestrator._wake("ord-1", self.now)
        return self.host.sent[before:]


def _charged(charge: Outgoing) -> PaymentCharged:
    """Payment's stored reply to the charge: re-sent unchanged (same message id) for a repeated command."""
    return PaymentCharged(correlation_id="ord-1", causation_id=charge.message_id, order=ORDER, payment_id="p1",
                          amount_cents=4999)  # fmt: skip


@pytest.fixture
def saga(tmp_path: Path) -> _Saga:
    return _Saga(tmp_path)


async def test_the_reply_ignored_during_the_backoff_completes_the_retry_when_sent_again(saga: _Saga) -> None:
    """ChargePayment times out at 5 s; its late reply lands during the 1 s backoff and is ignored; the retry
    (same command id) is answered with the same stored reply, which the orchestrator now applies."""
    charge = saga.place()
    assert await saga.timers(5.0) == []  # timed out: the retry waits 1 s
    reply = _charged(charge)
    assert saga.deliver(reply, 5.5) == []
    (retry,) = await saga.timers(6.0)
    assert retry.message_id == charge.message_id and retry.headers["x-attempt"] == 1
    assert [o.type for o in saga.deliver(reply, 6.5)] == ["ReserveStock"]


async def test_a_reply_arriving_after_its_deadline_is_not_remembered_either(saga: _Saga) -> None:
    """A reply delivered after the task's timeout but before the timer fired is handled as the timeout; the
    same reply, re-sent for the retry, is then applied."""
    charge = saga.place()
    reply = _charged(charge)
    assert saga.deliver(reply, 5.2) == []
    (retry,) = await saga.timers(6.2)
    assert retry.headers["x-attempt"] == 1
    assert [o.type for o in saga.deliver(reply, 6.5)] == ["ReserveStock"]


async def test_a_copy_of_an_applied_reply_is_dropped(saga: _Saga) -> None:
    """A TaskFailed that was applied (and planned a retry) is not applied again when the broker redelivers
    it while the retry is pending: it would burn a second retry for one failure."""
    charge = saga.place()
    failed = TaskFailed(correlation_id="ord-1", causation_id=charge.message_id, error="ServiceUnavailable", cause="x")
    assert saga.deliver(failed, 0.1) == []
    (retry,) = await saga.timers(1.1)
    assert saga.deliver(failed, 1.2) == []
    execution = load(saga.db.conn, "ord-1")
    assert execution is not None and execution.pending is not None and execution.retry_counts[0] == 1
    assert retry.headers["x-attempt"] == 1
