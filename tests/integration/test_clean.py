"""`sagalab clean --namespace NS` removes what NS declared on the broker and its `serve` data, and nothing
of any other namespace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aio_pika
import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.clean import clean, known_exchanges, known_queues
from shared.messaging.topology import Topology

pytestmark = pytest.mark.broker


async def _existing(amqp_url: str, namespace: str) -> tuple[set[str], set[str]]:
    """The namespace's queues and exchanges that exist now (a passive declare of each known name)."""
    topology = Topology(namespace)
    queues: set[str] = set()
    exchanges: set[str] = set()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for names, found, kind in ((known_queues(topology), queues, "queue"),
                                   (known_exchanges(topology), exchanges, "exchange")):  # fmt: skip
            for name in names:
                channel = await connection.channel()  # a missing name closes the channel it was asked on
                declare = channel.declare_queue if kind == "queue" else channel.declare_exchange
                try:
                    await declare(name, passive=True)
                    found.add(name)
                except aio_pika.exceptions.ChannelClosed:
                    continue
    return queues, exchanges


async def test_clean_removes_one_namespace_and_leaves_the_other(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Both modes ran in namespace A and choreography in B; after `sagalab clean --namespace A` nothing of A is
    left (queues, exchanges, the dead-letter queue, `.sagalab/serve/A`) and B is untouched."""
    a, b = f"{namespace}-a", f"{namespace}-b"
    try:
        for ns, mode in ((a, "choreography"), (a, "orchestration"), (b, "choreography")):
            options = runner.RunOptions(SCENARIOS["happy-path"], mode, amqp_url, tmp_path / ns / mode, ns)
            assert (await runner.run(options)).expectation_met
        serve_data = tmp_path / ".sagalab" / "serve" / a
        serve_data.mkdir(parents=True)
        (serve_data / "payment.db").write_bytes(b"")
        before_a, before_b = await _existing(amqp_url, a), await _existing(amqp_url, b)
        assert {f"{a}.{q}" for q in ("payment", "orchestrator.replies", "dead-letters")} <= before_a[0]
        assert len(before_a[1]) == 4 and len(before_b[0]) >= 5  # three topic exchanges and the dead-letter one

        done = subprocess.run([sys.executable, "-m", "scenarios.cli", "clean", "--namespace", a, "--amqp-url", amqp_url],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"namespace {a}: deleted {len(before_a[0])} queue(s), 4 exchange(s) and 1 service data folder(s)" in (
            done.stdout), done.stdout

        assert await _existing(amqp_url, a) == (set(), set())
        assert not serve_data.exists()
        assert await _existing(amqp_url, b) == before_b
        again = subprocess.run([sys.executable, "-m", "scenarios.cli", "clean", "--namespace", a, "--amqp-url",
                                amqp_url], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)  # fmt: skip
        assert f"namespace {a}: deleted 0 queue(s), 0 exchange(s) and 0 service data folder(s)" in again.stdout
        assert await _existing(amqp_url, a) == (set(), set())  # cleaning declared nothing
    finally:  # A too, in case the CLI failed before it cleaned it
        for ns in (a, b):
            await clean(amqp_url, ns, data_root=tmp_path / "none")


def test_clean_without_a_broker_says_how_to_get_one(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "scenarios.cli", "clean", "--namespace", "nobody", "--amqp-url",
                           "amqp://guest:guest@127.0.0.1:1/"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
