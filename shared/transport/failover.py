"""Several AMQP URLs for one broker cluster: how they are written, which node a process tries first, and a robust
connection that moves to the next node when its own one dies.

A cluster is given as several URLs, comma-joined in one string (``--amqp-url`` repeated or ``AMQP_URL``), so every
place that passes a broker address along passes the whole cluster unchanged. aio-pika's robust connection reconnects
to the one URL it was made with; ``FailoverConnection`` changes that URL when the connection is lost, and again
every ``reconnect_interval`` while no node answers, so a reconnection goes round the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Sequence
from typing import Any

from aio_pika import RobustConnection
from yarl import URL

SCHEMES = ("amqp", "amqps")
FAILOVER_RECONNECT_S = 1.0
"""How soon a client of a cluster tries the next node (aio-pika's default of 5 s is meant for a single broker)."""


class BadAmqpUrl(ValueError):
    """An AMQP URL that cannot be used; the message says which and why."""


def split_urls(value: str | Sequence[str]) -> tuple[str, ...]:
    """Each URL of a comma-joined string (or of several such strings), in order, duplicates dropped."""
    parts = [value] if isinstance(value, str) else list(value)
    urls: list[str] = []
    for part in parts:
        for url in (u.strip() for u in part.split(",")):
            if not url:
                continue
            parsed = URL(url)
            if parsed.scheme not in SCHEMES or not parsed.host:
                raise BadAmqpUrl(f"{url!r} is not an AMQP URL (amqp://user:password@host:port/vhost)")
            if url not in urls:
                urls.append(url)
    if not urls:
        raise BadAmqpUrl("no AMQP URL given")
    return tuple(urls)


def join_urls(urls: Sequence[str]) -> str:
    return ",".join(urls)


def primary_url(value: str) -> str:
    """The first URL: the node to ask for what concerns the whole cluster (users, management, rabbitmqctl)."""
    return split_urls(value)[0]


SPREAD = ("orders", "payment", "inventory", "orchestrator", "shipping", "runner")
"""Where sagalab's own processes start, in turn over the nodes: on three nodes each one carries a coordinator
(order service or orchestrator) or a participant, so whichever node dies takes some clients with it."""


def failover_order(urls: Sequence[str], sender: str) -> tuple[str, ...]:
    """The URLs in the order this process tries them: from its own node (by ``SPREAD``, else a stable hash of its
    name), then round the cluster."""
    if len(urls) <= 1:
        return tuple(urls)
    position = SPREAD.index(sender) if sender in SPREAD else zlib.crc32(sender.encode())
    start = position % len(urls)
    return tuple(urls[start:]) + tuple(urls[:start])


class FailoverConnection(RobustConnection):
    """A robust connection over several nodes: when it loses its node it reconnects to the next URL, and keeps
    going round while none answers. Channels, queues, bindings and consumers are restored as aio-pika does."""

    def __init__(self, url: URL, loop: asyncio.AbstractEventLoop | None = None, *, urls: Sequence[str] = (),
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(url, loop=loop, **kwargs)
        self.urls: tuple[URL, ...] = tuple(URL(u) for u in urls) or (self.url,)
        self._at = self.urls.index(self.url) if self.url in self.urls else 0
        self._rotating: asyncio.Task[None] | None = None

    def next_url(self) -> URL:
        """Point the next reconnection at the next node."""
        self._at = (self._at + 1) % len(self.urls)
        self.url = self.urls[self._at]
        return self.url

    async def _on_connection_close(self, closing: asyncio.Future[Any]) -> None:
        if not (self._close_called or self.is_closed) and len(self.urls) > 1:
            self.next_url()  # before the base class wakes its reconnection loop
            if self._rotating is None or self._rotating.done():
                self._rotating = self.loop.create_task(self._rotate_until_connected())
        await super()._on_connection_close(closing)

    async def _rotate_until_connected(self) -> None:
        """While no node has taken the connection, move on to the next URL every reconnect interval."""
        interval = float(self.reconnect_interval or FAILOVER_RECONNECT_S) * 1.5
        while not (self._close_called or self.is_closed):
            try:
                await asyncio.wait_for(self.connected.wait(), timeout=interval)
                return
            except TimeoutError:
                self.next_url()

    async def close(self, exc: Any = asyncio.CancelledError) -> None:
        if self._rotating is not None:
            self._rotating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotating
        await super().close(exc)
