"""`sagalab dead-letters`: list a namespace's dead letters (sagalab's own, with x-sagalab-* headers, and
RabbitMQ's, with x-death), show one, requeue chosen ones to where they were first published; reading takes
nothing, and what is not requeued stays, in order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import pytest
from yarl import URL

from shared.transport.broker import Broker, bindings
from shared.transport.dead_letter_queue import _held
from shared.transport.topology import QueueSpec, Topology

pytestmark = pytest.mark.broker

LONG_ID = "an id with spaces, " + "x" * 100
"""Too long and spaced to be typed as an id: listed by its body's digest instead (aiormq cannot publish
without a message id at all: it gives every message one)."""
PAYMENT = QueueSpec("payment", bindings(("events", "orders.OrderPlaced")))


def sagalab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, check=False)  # fmt: skip


def listed(amqp_url: str, namespace: str, cwd: Path) -> list[dict[str, Any]]:
    done = sagalab("dead-letters", "--json", "--namespace", namespace, "--amqp-url", amqp_url, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _contract_headers(n: int, namespace: str, error: str) -> dict[str, Any]:
    """The dead-letter-with-headers contract, as a consumer writes it when it dead-letters a message itself."""
    return {"x-sagalab-reason": f"reason {n}", "x-sagalab-error": error, "x-sagalab-service": "payment",
            "x-sagalab-queue": f"{namespace}.payment", "x-sagalab-attempts": n,
            "x-sagalab-exchange": f"{namespace}.events", "x-sagalab-routing-key": "orders.OrderPlaced",
            "x-published-us": 1_700_000_000_000_000 + n}  # fmt: skip


async def _queue_bodies(amqp_url: str, name: str) -> list[tuple[bytes, dict[str, Any], str | None]]:
    """Take every message of a queue (acked): its body, headers and message id."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name, ensure=True)
        taken = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append((message.body, dict(message.headers or {}), message.message_id))
        return taken


async def test_list_show_and_requeue_sagalab_dead_letters(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Three copies published to the DLX with the contract's headers (one with an untypeable id) are listed with
    their error, reason, service, attempts and time, twice (looking takes nothing); `show` prints headers and
    the body; `requeue` of the middle one publishes it, as first published, to its exchange and routing key and
    leaves the other two in order; an unknown id is bad usage and moves nothing."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    try:
        await broker.declare_queue(PAYMENT)
        for n, (message_id, error) in enumerate([("m-1", "OutOfBounds"), (LONG_ID, "MessageIdReused"),
                                                 ("m-3", "HandlerFailed")], start=1):  # fmt: skip
            properties = aiormq.spec.Basic.Properties(
                message_type="OrderPlaced", message_id=message_id, correlation_id=f"o-{n}", app_id="orders",
                headers=_contract_headers(n, namespace, error), delivery_mode=2)  # fmt: skip
            channel = await (await broker.connection.channel()).get_underlay_channel()
            await channel.basic_publish(json.dumps({"correlation_id": f"o-{n}", "n": n}).encode(),
                                        exchange=broker.topology.dead_letter_exchange, routing_key="orders.OrderPlaced",
                                        properties=properties)  # fmt: skip
    finally:
        await broker.close()

    first = listed(amqp_url, namespace, tmp_path)
    assert [(d["order"], d["error"], d["reason"], d["service"], d["attempts"]) for d in first] == [
        ("o-1", "OutOfBounds", "reason 1", "payment", 1), ("o-2", "MessageIdReused", "reason 2", "payment", 2),
        ("o-3", "HandlerFailed", "reason 3", "payment", 3)]  # fmt: skip
    assert first[0]["id"] == "m-1" and first[1]["id"].startswith("sha-") and first[0]["when"].startswith("2023-11-14")
    assert listed(amqp_url, namespace, tmp_path) == first

    show = sagalab("dead-letters", "show", first[1]["id"], "--namespace", namespace, "--amqp-url", amqp_url, cwd=tmp_path)
    assert show.returncode == 0, show.stdout + show.stderr
    assert "x-sagalab-error: MessageIdReused" in show.stdout and '"correlation_id": "o-2"' in show.stdout

    unknown = sagalab("dead-letters", "requeue", "nope", "--namespace", namespace, "--amqp-url", amqp_url, cwd=tmp_path)
    assert unknown.returncode == 2 and "no dead letter 'nope'" in unknown.stdout + unknown.stderr
    assert listed(amqp_url, namespace, tmp_path) == first

    moved = sagalab("dead-letters", "requeue", first[1]["id"], "--namespace", namespace, "--amqp-url", amqp_url,
                    cwd=tmp_path)  # fmt: skip
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "1 requeued, 0 not" in moved.stdout
    assert listed(amqp_url, namespace, tmp_path) == [first[0], first[2]]
    [(body, headers, message_id)] = await _queue_bodies(amqp_url, f"{namespace}.payment")
    assert message_id == LONG_ID  # requeued as it was first published
    assert json.loads(body) == {"correlation_id": "o-2", "n": 2}
    assert not any(k.startswith("x-sagalab-") and k != "x-sagalab-requeued" for k in headers), headers
    assert headers["x-sagalab-requeued"] == 1 and headers["x-published-us"] == 1_700_000_000_000_002


async def test_broker_dead_letters_are_read_from_x_death_and_requeued(amqp_url: str, namespace: str,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    """A message a consumer rejected and one that hit the queue's delivery limit carry only RabbitMQ's x-death;
    the list shows its reason, queue and service, and `requeue --all` sends both back to their queue."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    try:
        await broker.declare_queue(PAYMENT)
        for n in (1, 2):
            await broker.publish_raw(broker.topology.exchange("events"), "orders.OrderPlaced", f'{{"n": {n}}}'.encode(),
                                     type="OrderPlaced", message_id=f"m-{n}", correlation_id=f"o-{n}")  # fmt: skip
        channel = await broker.connection.channel()
        queue = await channel.get_queue(f"{namespace}.payment")
        rejected = await queue.get(no_ack=False)
        await rejected.reject(requeue=False)
        deadline = time.monotonic() + 30
        while (message := await queue.get(no_ack=False, fail=False)) is not None:  # until the limit drops it
            assert time.monotonic() < deadline
            await message.nack(requeue=True)
        await channel.close()
    finally:
        await broker.close()

    letters = listed(amqp_url, namespace, tmp_path)
    assert [(d["id"], d["error"], d["service"], d["queue"], d["exchange"], d["routing_key"]) for d in letters] == [
        (f"m-{n}", why, "payment", f"{namespace}.payment", f"{namespace}.events", "orders.OrderPlaced")
        for n, why in ((1, "rejected"), (2, "delivery_limit"))]  # fmt: skip
    assert letters[1]["reason"] == f"RabbitMQ: delivery_limit in {namespace}.payment (1x)"
    assert all(d["when"] for d in letters)

    moved = sagalab("dead-letters", "requeue", "--all", "--namespace", namespace, "--amqp-url", amqp_url, cwd=tmp_path)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert listed(amqp_url, namespace, tmp_path) == []
    back = await _queue_bodies(amqp_url, f"{namespace}.payment")
    assert sorted(json.loads(body)["n"] for body, _, _ in back) == [1, 2]
    assert not any("x-death" in headers for _, headers, _ in back)


def test_dead_letters_usage_and_no_broker(tmp_path: Path) -> None:
    """`show` needs one id, `requeue` ids or --all; without a broker the status is 3."""
    for args in (["show"], ["requeue"], ["requeue", "x", "--all"], ["list", "x"]):
        done = sagalab("dead-letters", *args, "--namespace", "ns", cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout + done.stderr)
    done = sagalab("dead-letters", "--namespace", "ns", "--amqp-url", "amqp://guest:guest@127.0.0.1:1/", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr


async def test_a_reader_that_dies_while_holding_the_dead_letters_loses_none(amqp_url: str, namespace: str,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    """The reader holds every dead letter unacknowledged; if its connection dies then, the broker gives them
    all back, in their order."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    for n in (1, 2, 3):
        await broker.publish_raw(broker.topology.dead_letter_exchange, "orders.OrderPlaced", f'{{"n": {n}}}'.encode(),
                                 type="OrderPlaced", message_id=f"m-{n}", correlation_id=f"o-{n}",
                                 headers=_contract_headers(n, namespace, "HandlerFailed"))  # fmt: skip
    async with _held(broker, 10) as (held, total):
        assert (len(held), total) == (3, 3)
        await broker.close()  # dies holding them: nothing acked, nothing nacked
    assert [d["id"] for d in listed(amqp_url, namespace, tmp_path)] == ["m-1", "m-2", "m-3"]


async def test_requeue_restores_the_publisher_s_user_id_or_says_why_it_cannot(amqp_url: str, namespace: str,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    """A consumer's copy keeps the original user_id in x-sagalab-user-id; requeue sets it again. RabbitMQ lets
    only that user (or an impersonator) do so: as another user the letter stays, with the reason, exit 1."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    try:
        await broker.declare_queue(PAYMENT)
        user = URL(amqp_url).user or "guest"
        for n, user_id in ((1, user), (2, "payment-not-me")):
            await broker.publish_raw(broker.topology.dead_letter_exchange, "orders.OrderPlaced", f'{{"n": {n}}}'.encode(),
                                     type="OrderPlaced", message_id=f"m-{n}", correlation_id=f"o-{n}",
                                     headers=_contract_headers(n, namespace, "WrongPublisher")
                                     | {"x-sagalab-user-id": user_id})  # fmt: skip
    finally:
        await broker.close()
    done = sagalab("dead-letters", "requeue", "--all", "--namespace", namespace, "--amqp-url", amqp_url, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not requeued m-2" in done.stdout and "refused user_id 'payment-not-me'" in done.stdout
    assert [d["id"] for d in listed(amqp_url, namespace, tmp_path)] == ["m-2"]
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        queue = await (await connection.channel()).get_queue(f"{namespace}.payment")
        back = await queue.get(no_ack=True)
        assert (back.message_id, back.user_id) == ("m-1", user)
