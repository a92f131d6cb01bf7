"""Acks sent in runs: one ``multiple`` ack per turn of the event loop covers every settled delivery up to
the first one still unsettled; a settled delivery behind an unsettled one is acked on its own.

A delivery kept unacked on purpose (an Express order until its execution ends) only stops the run at its
own tag, so a ``multiple`` ack can never settle it by accident.
"""

from __future__ import annotations

import asyncio
import heapq

import aiormq


class BatchedAcks:
    """The acks of one consuming channel (delivery tags are per channel)."""

    def __init__(self, channel: aiormq.abc.AbstractChannel) -> None:
        self.channel = channel
        self._delivered: list[int] = []  # heap of tags not yet settled one way or another
        self._acked: set[int] = set()  # settled by ack, waiting to be sent
        self._gone: set[int] = set()  # settled otherwise (nack, reject): nothing to send
        self._scheduled = False

    def received(self, tag: int) -> None:
        heapq.heappush(self._delivered, tag)

    def settled_otherwise(self, tag: int) -> None:
        self._gone.add(tag)

    def ack(self, tag: int) -> None:
        self._acked.add(tag)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        upto = 0
        while self._delivered and (self._delivered[0] in self._acked or self._delivered[0] in self._gone):
            tag = heapq.heappop(self._delivered)
            if tag in self._acked:
                self._acked.discard(tag)
                upto = tag
            else:
                self._gone.discard(tag)
        sends = [(upto, True)] if upto else []
        sends += [(tag, False) for tag in sorted(self._acked)]
        self._gone.update(self._acked)  # acked alone below: no longer blocks a later run
        self._acked.clear()
        if self.channel.is_closed:
            return  # the broker redelivers; the inbox makes that harmless
        for tag, multiple in sends:
            asyncio.ensure_future(self._send(tag, multiple))

    async def _send(self, tag: int, multiple: bool) -> None:
        try:
            await self.channel.basic_ack(tag, multiple=multiple)
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError):
            pass  # the channel died under us: the broker redelivers, the inbox drops the copy
