"""Bounds at the edge and at the broker: an out-of-bounds order is rejected before it is placed and counted in
the result; one published straight to the broker is dead-lettered at its first delivery, with its reason."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.topologies import coordinator
from shared.config import Mode
from shared.transport.topology import Topology

pytestmark = pytest.mark.broker


async def _dead_letters(amqp_url: str, namespace: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message in the namespace's dead-letter queue, looked at and put back (nack with requeue)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(Topology(namespace).dead_letter_queue, ensure=True)
        seen = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            seen.append(message)
        for message in seen:
            await message.nack(requeue=True)
    return seen


def _rows(db: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_an_out_of_bounds_place_order_on_the_broker_is_dead_lettered_with_its_reason(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """PlaceOrders published straight to the broker with amount_cents=10**30 and with a body over 64 KiB are
    dead-lettered at their first delivery (not after five crashed handlers), the reason logged as out of
    bounds; no service recorded or charged them, and the run's good orders complete, consistent."""
    result = await runner.run(runner.RunOptions(SCENARIOS["out-of-bounds"], mode, amqp_url, tmp_path, namespace))
    assert result.expectation_met, result.expectation_failures
    assert result.orders.completed == 2 and result.consistency.ok
    dead = [m for m in await _dead_letters(amqp_url, namespace) if (m.correlation_id or "").startswith("oob-")]
    assert len(dead) == 2
    for message in dead:
        headers: dict[str, Any] = dict(message.headers or {})
        # dead-lettered by the consumer at its first delivery, with why; not by the delivery limit after crashes
        assert headers["x-sagalab-error"] == "OutOfBounds" and headers["x-sagalab-attempts"] == 1, headers
        assert "x-death" not in headers, headers
    logged = [json.loads(line)["reason"] for line in (tmp_path / "logs" / f"{coordinator(mode)}.log").read_text()
              .splitlines() if "dead-lettering" in line]  # fmt: skip
    assert any("PlaceOrder out of bounds: order.amount_cents" in reason for reason in logged), logged
    assert any(reason.startswith("PlaceOrder of 100") and "at most 65536 allowed" in reason for reason in logged)
    ids = {m.correlation_id for m in dead}
    assert not ids & {r[0] for r in _rows(tmp_path / "data" / f"{coordinator(mode)}.db", "SELECT order_id FROM orders")}
    charged = _rows(tmp_path / "data" / "payment.db", "SELECT order_id FROM charges")
    assert not ids & {r[0] for r in charged} and len(charged) == 2


def test_run_reports_orders_rejected_at_the_edge_with_their_reason(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """`sagalab run out-of-bounds`: the four hostile orders are never placed; the result counts them in
    orders.total and orders.rejected, each with a reason naming its field, and the table says so."""
    out = tmp_path / "result.json"
    done = subprocess.run([sys.executable, "-m", "sagalab.cli", "run", "out-of-bounds", "--mode", "choreography",
                           "--namespace", namespace, "--amqp-url", amqp_url, "--json", str(out), "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["orders"] | {"total": 6, "completed": 2, "rejected": 4} == result["orders"]
    reasons = {r["order_id"]: r["reason"] for r in result["rejected_orders"]}
    assert len(reasons) == 4 and all(result["outcomes"][o] == "rejected" for o in reasons)
    for field in ("amount_cents: Input should be less than or equal to 1000000000000", "customer_id: String should "
                  "have at most 128 characters", "quantity: Input should be greater than or equal to 1", "destination"):
        assert any(field in reason for reason in reasons.values()), (field, reasons)
    assert result["messages"]["by_type"]["PlaceOrder"] == 4  # the two good ones and two sent past the edge
    assert "rejected" in done.stdout
    placed = _rows(tmp_path / "run" / "data" / "orders.db", "SELECT order_id FROM orders")
    assert not {r[0] for r in placed} & set(reasons)


def test_execute_refuses_an_input_over_the_document_bound(tmp_path: Path) -> None:
    """`sagalab execute --input` is the edge of an execution: a 40 KB document is bad usage, status 2."""
    definition = Path(__file__).resolve().parents[2] / "orchestration" / "checkout.asl.json"
    done = subprocess.run([sys.executable, "-m", "sagalab.cli", "execute", str(definition), "--input",
                           json.dumps({"a": "x" * 40_000})], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          check=False)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "an execution's input is at most 32768" in done.stdout + done.stderr
