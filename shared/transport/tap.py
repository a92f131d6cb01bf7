"""The tap: a durable queue bound to every exchange of a namespace that sees each message that crosses."""

from __future__ import annotations

import time
from collections.abc import Callable

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from shared.transport.broker import Broker
from shared.transport.observed import Observed
from shared.transport.topology import EXCHANGE_KINDS


async def tap(broker: Broker, on_message: Callable[[Observed], None], queue_name: str | None = None,
              exclusive: bool = False) -> AbstractQueue:  # fmt: skip
    """Bind a durable tap queue to every exchange of the namespace and record what crosses them.

    Acked after recording, so a dropped connection redelivers rather than loses; the recorder drops
    the redelivered copies (same message, same publish time). ``exclusive``: a watcher's own queue instead,
    gone when its connection closes (``sagalab watch``), which leaves nothing behind to clean.
    """
    t = broker.topology
    channel = await broker.connection.channel(publisher_confirms=False)
    await channel.set_qos(prefetch_count=2000)
    queue = await channel.declare_queue(queue_name or t.tap_queue, durable=not exclusive, exclusive=exclusive,
                                        auto_delete=exclusive,
                                        arguments=None if exclusive else t.side_queue_arguments())  # fmt: skip
    for kind in EXCHANGE_KINDS:
        await queue.bind(t.exchange(kind), "#")
    await queue.bind(t.dead_letter_exchange, "#")
    async def received(message: AbstractIncomingMessage) -> None:
        on_message(Observed(
            exchange=message.exchange or "", routing_key=message.routing_key or "", type=message.type,
            sender=message.app_id, message_id=message.message_id, correlation_id=message.correlation_id,
            reply_to=message.reply_to, headers=dict(message.headers or {}), body=message.body,
            received_at=time.time(), user_id=message.user_id,
        ))  # fmt: skip
        await message.ack()

    await queue.consume(received)
    return queue
