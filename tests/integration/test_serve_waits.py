"""A service started before its broker waits for it (`serve --wait-for-broker S`), as each compose service
does while RabbitMQ starts, instead of crashing; with nothing to wait for it still fails clearly."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from pathlib import Path

import pytest
from yarl import URL

pytestmark = pytest.mark.broker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _forward(target: URL, port: int) -> asyncio.Server:
    """A TCP relay from 127.0.0.1:port to the real broker: the broker 'comes up' when this starts."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection(target.host, target.port)
        await asyncio.gather(pipe(client_r, broker_w), pipe(broker_r, client_w))

    return await asyncio.start_server(relay, "127.0.0.1", port)


async def _wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)  # polling a file the service writes


async def test_a_service_waits_for_a_broker_that_starts_after_it(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    port = _free_port()
    waiting_url = str(URL(amqp_url).with_host("127.0.0.1").with_port(port))
    log = tmp_path / "payment.log"
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sagalab.cli", "serve", "payment", "--mode", "orchestration", "--namespace",
            namespace, "--data-dir", str(tmp_path / "data"), "--amqp-url", waiting_url, "--wait-for-broker", "120",
            stdout=out, stderr=out,
        )  # fmt: skip
    relay = None
    try:
        await _wait_for(lambda: "waiting for the broker" in log.read_text(), 60, "the service to say it waits")
        assert proc.returncode is None, log.read_text()
        relay = await _forward(URL(amqp_url), port)
        await _wait_for(lambda: (tmp_path / "data" / "payment.ready").exists(), 60, "the service to be ready")
        assert proc.returncode is None
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        if relay is not None:
            relay.close()
    assert proc.returncode == 0, log.read_text()


async def test_without_waiting_a_missing_broker_is_exit_3(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sagalab.cli", "serve", "payment", "--mode", "choreography", "--data-dir",
        str(tmp_path), "--amqp-url", f"amqp://guest:guest@127.0.0.1:{_free_port()}/",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 3, output.decode()
    assert b"broker" in output.lower()
