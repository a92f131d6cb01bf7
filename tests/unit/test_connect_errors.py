"""When the broker cannot be reached, the error says why, even when the exception itself says nothing."""

from __future__ import annotations

import asyncio
import socket

import pytest

from shared.transport.broker import Broker, BrokerUnavailable
from shared.transport.topology import Topology


async def test_a_port_that_accepts_but_never_speaks_amqp_is_named_as_such() -> None:
    """A broker out of file handles accepts TCP and never answers: the message names the handshake timeout
    (a TimeoutError's own text is empty, which once printed as `()`)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(BrokerUnavailable) as raised:
            await Broker.connect(f"amqp://guest:secret@127.0.0.1:{port}/", Topology("t"), "test", timeout=1.0)
    message = str(raised.value)
    assert "waiting for the AMQP handshake" in message and "()" not in message
    assert "secret" not in message and "guest:***@" in message


async def test_a_closed_port_names_the_refusal() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(BrokerUnavailable, match=r"\(.+\)"):
        await asyncio.wait_for(Broker.connect(f"amqp://guest:guest@127.0.0.1:{port}/", Topology("t"), "test",
                                              timeout=2.0), 30)  # fmt: skip
