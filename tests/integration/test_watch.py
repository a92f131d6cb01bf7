"""``sagalab watch --json`` against a real run: the order shows in flight at its slow step, then finished."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from scenarios import runner
from scenarios.checks import AllEnd
from scenarios.scenario import Scenario, same

pytestmark = pytest.mark.broker

SLOW_SHIPPING = Scenario(
    "slow-shipping", "Shipping takes 2 s over the order: long enough to be seen in flight.", {"KEYBOARD": 10}, same(),
    faults={"choreography": {"shipping": ("delay:StockReserved:2",)}}, expect=(AllEnd("completed"),),
)  # fmt: skip


async def _line(stream: asyncio.StreamReader, timeout_s: float = 60.0) -> dict[str, Any]:
    line = await asyncio.wait_for(stream.readline(), timeout_s)
    assert line, "the watch stopped before saying so"
    document: dict[str, Any] = json.loads(line)
    return document


async def test_watch_reports_the_order_at_its_slow_step_then_completed(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Attached before the run, the watch streams the order's state: placed, then waiting for Shipping to
    schedule it, then completed; with --once it stops by itself when every saga it saw has ended."""
    watch = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sagalab.cli", "watch", "--json", "--once", "--until-idle", "60",
        "--namespace", namespace, "--amqp-url", amqp_url, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert watch.stdout is not None
    try:
        first = await _line(watch.stdout)
        assert first["event"] == "watching" and first["namespace"] == namespace  # bound: nothing can be missed now
        result = await runner.run(runner.RunOptions(SLOW_SHIPPING, "choreography", amqp_url, tmp_path, namespace))
        assert result.expectation_met, result.expectation_failures
        lines = [await _line(watch.stdout)]
        while lines[-1]["event"] != "end":
            lines.append(await _line(watch.stdout))
        assert await asyncio.wait_for(watch.wait(), 30) == 0
    finally:
        if watch.returncode is None:
            watch.kill()
            await watch.wait()
    sagas = [line for line in lines if line["event"] == "saga"]
    order_id = next(iter(result.outcomes))
    assert {s["order_id"] for s in sagas} == {order_id}
    in_flight = [s for s in sagas if s["pending"] == "shipping: ScheduleShipment on StockReserved"]
    assert in_flight and in_flight[0]["status"] == "running" and in_flight[0]["step"] == "ScheduleShipment"
    assert in_flight[0]["mode"] == "choreography" and in_flight[0]["done"] == ["ChargePayment", "ReserveStock"]
    assert sagas[-1]["status"] == "completed" and sagas.index(in_flight[0]) < len(sagas) - 1
    assert lines[-1] == {"event": "end", "reason": "every saga seen has ended", "sagas": {"completed": 1}}
