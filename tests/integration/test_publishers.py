"""Each service its own broker user: the broker holds a service to its own messages, and consumers dead-letter
what another user forged (choreography and orchestration, through the CLI and the runner)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import aio_pika
import pytest

from scenarios import runner
from scenarios.broker_control import BrokerControl
from scenarios.catalogue import SCENARIOS
from scenarios.trace import load_trace
from shared.config import Mode

pytestmark = pytest.mark.broker


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True, timeout=120)


async def _publish(url: str, exchange: str, key: str, user_id: str | None) -> str:
    """Publish once with confirms; returns "ok" or the broker's refusal."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)  # as services do
        target = await channel.get_exchange(exchange, ensure=False)
        try:
            await target.publish(aio_pika.Message(b"{}", user_id=user_id), key, mandatory=False)
            return "ok"
        except aio_pika.exceptions.ChannelClosed as exc:
            return str(exc)


async def test_sagalab_users_gives_each_service_a_user_held_to_its_own_messages(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """`sagalab users` creates one user per service; payment may publish payment.* on the events exchange under
    its own user_id, the broker refuses it Inventory's routing key or another user_id; `sagalab clean` deletes them."""
    urls_file = tmp_path / "users.json"
    made = _cli("users", "--namespace", namespace, "--amqp-url", amqp_url, "--json", str(urls_file))
    assert made.returncode == 0, made.stdout + made.stderr
    urls = json.loads(urls_file.read_text())
    assert sorted(urls) == ["inventory", "orchestrator", "orders", "payment", "shipping"]
    events, payment = f"{namespace}.events", urls["payment"]
    assert await _publish(payment, events, "payment.PaymentCharged", f"{namespace}.payment") == "ok"
    assert "ACCESS_REFUSED" in await _publish(payment, events, "inventory.StockReserved", f"{namespace}.payment")
    assert "PRECONDITION_FAILED" in await _publish(payment, events, "payment.PaymentCharged", f"{namespace}.inventory")
    cleaned = _cli("clean", "--namespace", namespace, "--amqp-url", amqp_url)
    assert "deleted 5 service user(s)" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    users = await BrokerControl.require(amqp_url).run("list_users", "-q", "--no-table-headers")
    assert not [line for line in users.splitlines() if line.startswith(f"{namespace}.")]


async def _dead_letter_headers(amqp_url: str, namespace: str) -> list[dict[str, object]]:
    """The headers of every message in the namespace's dead-letter queue (taken off it)."""
    connection = await aio_pika.connect(amqp_url)
    found = []
    async with connection:
        queue = await (await connection.channel()).declare_queue(f"{namespace}.dead-letters", passive=True)
        while (message := await queue.get(fail=False)) is not None:
            found.append(dict(message.headers))
            await message.ack()
    return found


def _rows(db: Path, query: str, order_id: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query, (order_id,)).fetchall()


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_a_forged_message_is_dead_lettered_as_wrong_publisher_and_has_no_effect(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """forged-event: what the runner's guest user forges, for a declined order or one nobody placed, is
    dead-lettered with the error WrongPublisher and reserves no stock and books no parcel; Payment's own user
    cannot publish Inventory's event at all; the result says the publisher check was on. With the check off the
    forgeries take effect, the parcel for the unknown order included."""
    result = await runner.run(runner.RunOptions(SCENARIOS["forged-event"], mode, amqp_url, tmp_path / "safe", namespace))
    assert result.expectation_met, result.expectation_failures
    assert result.publisher_check and result.consistency.ok
    (order_id,) = result.outcomes
    dead = [r for r in load_trace(tmp_path / "safe" / "trace.jsonl") if r["dead_lettered"]]
    assert {(r["dead_letter_reason"], r["user_id"]) for r in dead} == {("WrongPublisher", "guest")}
    assert order_id in {r["correlation_id"] for r in dead}, "the forgery for the declined order"
    assert any(r["correlation_id"].startswith("forged-") for r in dead), "the forgery for an order nobody placed"
    assert result.extra["faults_injected"]["forged StockReserved refused by the broker"] == 1
    headers = await _dead_letter_headers(amqp_url, namespace)
    assert headers and all(h["x-sagalab-error"] == "WrongPublisher" and h["x-sagalab-user-id"] == "guest"
                           and "must be published by" in h["x-sagalab-reason"] for h in headers)  # fmt: skip
    assert {h["x-sagalab-service"] for h in headers} <= {"inventory", "shipping", "payment", "orchestrator"}
    assert all(h["x-sagalab-queue"] == f"{namespace}.{h['x-sagalab-service']}" and h["x-sagalab-attempts"] == 1
               and h["x-sagalab-exchange"].startswith(namespace) and h["x-sagalab-routing-key"] for h in headers)  # fmt: skip
    data = tmp_path / "safe" / "data"
    assert not _rows(data / "inventory.db", "SELECT * FROM reservation_lines WHERE order_id = ?", order_id)
    assert not _rows(data / "shipping.db", "SELECT * FROM shipments WHERE order_id = ?", order_id)

    unsafe = await runner.run(runner.RunOptions(SCENARIOS["unsafe-no-publisher-check"], mode, amqp_url,
                                                tmp_path / "unsafe", namespace))  # fmt: skip
    assert unsafe.expectation_met, unsafe.expectation_failures
    assert not unsafe.publisher_check and unsafe.messages.dead_lettered == 0
    assert {v.rule for v in unsafe.consistency.violations} == {"stock.left-behind", "shipping.not-completed",
                                                               "stray.unknown-order"}


async def test_a_run_without_own_users_says_its_publishers_were_not_checked(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Services that share the runner's user cannot be told apart: the result says publisher_check false."""
    result = await runner.run(runner.RunOptions(SCENARIOS["happy-path"], "choreography", amqp_url, tmp_path, namespace))
    assert result.expectation_met and result.publisher_check is False
    assert json.loads((tmp_path / "result.json").read_text())["publisher_check"] is False


@pytest.mark.parametrize("mode", [pytest.param("choreography", marks=pytest.mark.slow), "orchestration"])
async def test_chaos_with_forgeries_dead_letters_each_and_stays_consistent(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Chaos with kills, duplicates, poison and forged copies of saga messages: each service has its own user,
    every forgery is dead-lettered (the dead letters are exactly poison + forgeries), duplicates still reach the
    inboxes under their publisher's user, and nothing is violated."""
    from scenarios.chaos import ChaosPlan, chaos_scenario

    plan = ChaosPlan(duration_s=8, kills_per_service=1, broker_restarts=0, duplicates=6, poison=2, forgeries=6, seed=5,
                     broken_compensations=0)  # that fault has its own chaos test
    result = await runner.run(runner.RunOptions(chaos_scenario(60, plan), mode, amqp_url, tmp_path, namespace,
                                                orders=60))  # fmt: skip
    assert result.expectation_met, result.expectation_failures
    assert result.publisher_check and result.consistency.violations == []
    faults = result.extra["faults_injected"]
    assert faults["forged"] == plan.forgeries and faults["duplicate"] == plan.duplicates
    assert result.messages.dead_lettered == plan.poison + plan.forgeries
    dead = [r for r in load_trace(tmp_path / "trace.jsonl") if r["dead_lettered"]]
    assert sum(r["dead_letter_reason"] == "WrongPublisher" for r in dead) == plan.forgeries
