"""Settling deliveries in runs, and in order.

Acks are collected per turn of the event loop: one ``multiple`` ack covers every settled delivery up to the
first one still unsettled; a settled delivery behind an unsettled one is acked on its own. A delivery kept
unacked on purpose (an Express order until its execution ends) only stops the run at its own tag, so a
``multiple`` ack never settles it by accident.

One task writes every ack, nack and reject of a channel in sequence: aiormq's write queue is bounded, and
two writers blocked on it could overtake each other (a single ack or a nack landing after a ``multiple`` ack
that already covered its tag is a channel error).

A frame that fails (the channel closed, or the broker closed it over a bad frame) is logged, not retried: the
tags mean nothing on any other channel, the broker redelivers what the failed channel held unacked, and the
robust channel reopens itself.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Awaitable
from typing import Protocol

import aiormq
import structlog

log = structlog.get_logger()


class Settles(Protocol):
    """Where the frames go: an aiormq channel (the fast transport), or the plain transport's settler, which
    sends each through aio-pika's ``IncomingMessage`` of that tag."""

    @property
    def is_closed(self) -> bool: ...

    def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> Awaitable[None]: ...

    def basic_nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True,
                   wait: bool = True) -> Awaitable[None]: ...  # fmt: skip


class BatchedAcks:
    """The settlements of one consuming channel (delivery tags are per channel)."""

    def __init__(self, channel: Settles) -> None:
        self.channel = channel
        self._delivered: list[int] = []  # heap of tags whose settling frame is not written yet
        self._acked: set[int] = set()  # acked, waiting for this turn's run
        self._sent: set[int] = set()  # settled by a frame of its own, still in the heap
        self._frames: deque[tuple[str, int, bool, asyncio.Future[None] | None]] = deque()
        self._writer: asyncio.Future[None] | None = None
        self._scheduled = False

    def received(self, tag: int) -> None:
        heapq.heappush(self._delivered, tag)

    def ack(self, tag: int) -> None:
        self._acked.add(tag)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def nack(self, tag: int, requeue: bool) -> asyncio.Future[None]:
        """Requeue (or, without ``requeue``, dead-letter) in order with the acks; resolves once written."""
        self._sent.add(tag)
        return self._write("nack", tag, requeue, wait=True)

    def ack_alone(self, tag: int) -> asyncio.Future[None]:
        """Ack this one delivery right away; resolves once the frame is written."""
        self._sent.add(tag)
        return self._write("ack", tag, False, wait=True)

    async def drain(self) -> None:
        """Wait until every settlement decided so far has been handed to the connection."""
        self._flush()
        if self._writer is not None:
            await self._writer

    def _flush(self) -> None:
        self._scheduled = False
        upto = 0
        while self._delivered and (self._delivered[0] in self._acked or self._delivered[0] in self._sent):
            tag = heapq.heappop(self._delivered)
            if tag in self._acked:
                self._acked.discard(tag)
                upto = tag
            else:
                self._sent.discard(tag)
        if upto:
            self._write("ack", upto, True)
        for tag in sorted(self._acked):
            self._write("ack", tag, False)
        self._sent.update(self._acked)
        self._acked.clear()

    def _write(self, kind: str, tag: int, flag: bool, wait: bool = False) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._frames.append((kind, tag, flag, done if wait else None))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_all())
        if not wait:
            done.set_result(None)
        return done

    async def _write_all(self) -> None:
        while self._frames:
            kind, tag, flag, done = self._frames.popleft()
            try:
                if kind == "ack":
                    await self.channel.basic_ack(tag, multiple=flag, wait=False)
                else:
                    await self.channel.basic_nack(tag, requeue=flag, wait=False)
            except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
                # The channel died under us: the broker redelivers, and the inbox drops the copy.
                log.warning("could not settle on the delivery's channel; the broker will redeliver", frame=kind,
                            delivery_tag=tag, multiple=flag if kind == "ack" else False, error=repr(exc))  # fmt: skip
            if done is not None and not done.done():
                done.set_result(None)
