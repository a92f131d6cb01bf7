"""The raw chain's ack batching: one multiple ack over the settled run of tags, never past an unsettled one."""

from __future__ import annotations

import asyncio

from shared.messaging.raw_chain import Chain, _Acker
from shared.messaging.topology import Topology


class FakeChannel:
    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        self.acks.append((delivery_tag, multiple))


async def _settle(acker: _Acker) -> None:
    for _ in range(3):  # the flush runs on the next loop turn, its acks one turn later
        await asyncio.sleep(0)


async def test_a_settled_run_of_tags_is_acked_with_one_multiple_ack() -> None:
    """Tags 1-3 settled in any order within one turn: a single ack of 3 with multiple."""
    channel = FakeChannel()
    acker = _Acker(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3):
        acker.received(tag)
    for tag in (2, 3, 1):
        acker.ack(tag)
    await _settle(acker)
    assert channel.acks == [(3, True)]


async def test_a_tag_settled_behind_an_unsettled_one_is_acked_alone() -> None:
    """1 and 3 settled, 2 still waiting for its confirm: 1 (multiple) and 3 singly; 2 later covers only itself."""
    channel = FakeChannel()
    acker = _Acker(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3, 4):
        acker.received(tag)
    acker.ack(1)
    acker.ack(3)
    await _settle(acker)
    assert channel.acks == [(1, True), (3, False)]
    acker.ack(2)
    await _settle(acker)
    assert channel.acks[2:] == [(2, True)]


async def test_a_nacked_tag_does_not_hold_back_the_multiple_ack() -> None:
    """A delivery settled another way (nack) lets the acks after it go out together."""
    channel = FakeChannel()
    acker = _Acker(channel)  # type: ignore[arg-type]
    for tag in (1, 2, 3):
        acker.received(tag)
    acker.forget(1)
    acker.ack(2)
    acker.ack(3)
    await _settle(acker)
    assert channel.acks == [(3, True)]


def test_chain_queues_are_namespaced_and_one_per_role() -> None:
    """Roles appear once each, in route order, with queue names under the namespace."""
    chain = Chain("x", ("a", "b", "a", "c", "a"))
    assert chain.roles == ("a", "b", "c") and chain.hops == 5
    assert chain.queue(Topology("ns"), "b") == "ns.raw-x.b"
    assert Topology("ns").queue_arguments_for(chain.spec("b"))["x-queue-type"] == "quorum"
