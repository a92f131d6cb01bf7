"""Ack batching (services and raw chain alike): one multiple ack over the settled run of tags, never past an
unsettled one, and every settlement written in the order decided."""

from __future__ import annotations

import types

import aiormq
from structlog.testing import capture_logs

from shared.transport.acks import BatchedAcks
from shared.transport.plain import IncomingSettler


@types.coroutine
def one_loop_turn():  # type: ignore[no-untyped-def]
    """Give the event loop one turn, as a write to aiormq's bounded queue may."""
    yield


class FakeChannel:
    """Records settlements; each write may yield, as aiormq's bounded write queue does."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []
        self.nacks: list[int] = []

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        await one_loop_turn()
        self.acks.append((delivery_tag, multiple))

    async def basic_nack(self, delivery_tag: int, requeue: bool = True, wait: bool = True) -> None:
        await one_loop_turn()
        self.nacks.append(delivery_tag)
        self.acks.append((-delivery_tag, False))  # in the same sequence, to check the order


async def _settle(acker: BatchedAcks) -> None:
    await acker.drain()


async def test_a_settled_run_of_tags_is_acked_with_one_multiple_ack() -> None:
    """Tags 1-3 settled in any order within one turn: a single ack of 3 with multiple."""
    channel = FakeChannel()
    acker = BatchedAcks(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3):
        acker.received(tag)
    for tag in (2, 3, 1):
        acker.ack(tag)
    await _settle(acker)
    assert channel.acks == [(3, True)]


async def test_a_tag_settled_behind_an_unsettled_one_is_acked_alone() -> None:
    """1 and 3 settled, 2 still waiting for its confirm: 1 (multiple) and 3 singly; 2 later covers only itself."""
    channel = FakeChannel()
    acker = BatchedAcks(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3, 4):
        acker.received(tag)
    acker.ack(1)
    acker.ack(3)
    await _settle(acker)
    assert channel.acks == [(1, True), (3, False)]
    acker.ack(2)
    await _settle(acker)
    assert channel.acks[2:] == [(2, True)]


async def test_a_nacked_tag_does_not_hold_back_the_multiple_ack_and_goes_out_before_it() -> None:
    """A delivery given back (nack) lets the acks after it go out together, after the nack."""
    channel = FakeChannel()
    acker = BatchedAcks(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3):
        acker.received(tag)
    acker.nack(1, requeue=True)
    acker.ack(2)
    acker.ack(3)
    await _settle(acker)
    assert channel.acks == [(-1, False), (3, True)]


async def test_settlements_reach_the_channel_in_the_order_decided_even_when_writes_yield() -> None:
    """A single ack decided before a multiple ack that covers its neighbours is written first, never after."""
    channel = FakeChannel()
    acker = BatchedAcks(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3, 4):
        acker.received(tag)
    acker.ack(3)
    await one_loop_turn()  # the flush decides: 3 alone (1 and 2 are unsettled)
    acker.ack(1)
    acker.ack(2)
    acker.ack(4)
    await _settle(acker)
    assert channel.acks == [(3, False), (4, True)]


class ClosedChannel(FakeChannel):
    """A channel the broker has closed: every write raises, as aiormq's does."""

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        raise aiormq.exceptions.ChannelInvalidStateError("closed")

    async def basic_nack(self, delivery_tag: int, requeue: bool = True, wait: bool = True) -> None:
        raise aiormq.exceptions.ChannelInvalidStateError("closed")


async def test_a_settlement_the_channel_refuses_is_logged_not_swallowed() -> None:
    """An ack or nack that fails on its channel is logged with its tag (the broker redelivers the message), and
    whoever awaits the settlement is not left hanging."""
    acker = BatchedAcks(ClosedChannel())  # type: ignore[arg-type]
    acker.received(1)
    acker.received(2)
    with capture_logs() as logs:
        acker.ack(1)
        await acker.nack(2, requeue=True)
        await acker.drain()
    failed = [(e["frame"], e["delivery_tag"]) for e in logs if e["log_level"] == "warning"]
    assert sorted(failed) == [("ack", 1), ("nack", 2)]


class FakeIncoming:
    """An aio-pika ``IncomingMessage`` as the plain transport settles it."""

    def __init__(self, tag: int, log: list[tuple[str, int, bool]]) -> None:
        self.delivery_tag = tag
        self._log = log

    async def ack(self, multiple: bool = False) -> None:
        self._log.append(("ack", self.delivery_tag, multiple))

    async def nack(self, requeue: bool = True) -> None:
        self._log.append(("nack", self.delivery_tag, requeue))

    async def reject(self, requeue: bool = False) -> None:
        self._log.append(("reject", self.delivery_tag, requeue))


class FakeAiormqChannel:
    is_closed = False


async def test_the_plain_transport_sends_a_run_of_acks_through_the_last_message_of_the_run() -> None:
    """Plain transport: the batched frames go out through aio-pika's own ``IncomingMessage`` methods (one
    ``ack(multiple=True)`` for a settled run, ``reject`` to dead-letter), and forget what they settled."""
    sent: list[tuple[str, int, bool]] = []
    settler = IncomingSettler(FakeAiormqChannel())  # type: ignore[arg-type]
    acker = BatchedAcks(settler)
    for tag in (1, 2, 3, 4):
        settler.received(tag, FakeIncoming(tag, sent))  # type: ignore[arg-type]
        acker.received(tag)
    await acker.nack(4, requeue=False)
    for tag in (1, 2, 3):
        acker.ack(tag)
    await _settle(acker)
    assert sent == [("reject", 4, False), ("ack", 3, True)]
    assert settler._messages == {}
