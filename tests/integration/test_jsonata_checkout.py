"""The checkout saga written in JSONata with variables (orchestration/checkout-jsonata.asl.json) runs the out-of-stock
scenario end to end over RabbitMQ, with the orchestrator killed mid-saga: the order ends compensated and consistent,
and the steps after the restart read the variables the execution had assigned before it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.broker

DEFINITION = Path(__file__).resolve().parents[2] / "orchestration" / "checkout-jsonata.asl.json"


def sagalab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True, timeout=300)


def details(event: dict[str, Any]) -> dict[str, Any]:
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def test_out_of_stock_with_the_jsonata_checkout_ends_compensated_across_an_orchestrator_kill(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """`sagalab run out-of-stock --mode orchestration --definition checkout-jsonata.asl.json`, the orchestrator
    killed when OutOfStock is published: the refund goes to the order the execution kept in `$order`."""
    out = sagalab("run", "out-of-stock", "--mode", "orchestration", "--definition", str(DEFINITION),
                  "--fault", "orchestrator:kill@OutOfStock", "--json", str(tmp_path / "result.json"),
                  "--out", str(tmp_path / "run"), "--amqp-url", amqp_url, "--namespace", namespace)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["orders"]["compensated"] == 1 and result["orders"]["total"] == 1
    assert result["consistency"] == {"ok": True, "violations": []}
    # A kill may make the outbox send a command twice; the oracle above says the money moved once.
    assert result["messages"]["by_type"]["RefundPayment"] >= 1
    assert result["settled"] and result["expectation_met"]

    shown = sagalab("history", "--run", str(tmp_path / "run"), "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    history = json.loads(shown.stdout)
    assert history["definition"]["name"] == "checkout-jsonata.asl.json"
    events = history["events"]
    (order_id,) = result["outcomes"]
    charged = next(details(e) for e in events if e["type"] == "TaskStateExited" and details(e)["name"] == "ChargePayment")
    assert charged["assignedVariables"]["order"]["order_id"] == order_id
    refund = [details(e)["parameters"] for e in events if e["type"] == "TaskScheduled"][-1]
    assert refund == {"order_id": order_id}
    assert events[-1]["type"] == "ExecutionFailed"
    assert details(events[-1])["error"] == "OrderCancelled"
