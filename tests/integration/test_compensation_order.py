"""Compensations run in reverse order of the steps in both modes: stock is released before the card is refunded."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.trace import load_trace
from shared.config import Mode

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_after_a_failed_shipment_the_release_comes_before_the_refund(
    mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """In the trace of a shipping failure, StockReleased is published before the refund is even asked for, and
    the refund is caused by the release (choreography chains them; the orchestrator commands them in turn)."""
    options = runner.RunOptions(SCENARIOS["shipping-failure"], mode, amqp_url, tmp_path, namespace)
    result = await runner.run(options)
    assert result.expectation_met, result.expectation_failures
    trace = [r for r in load_trace(tmp_path / "trace.jsonl") if not r["dead_lettered"]]
    order = [r["type"] for r in trace if r["type"] in ("StockReleased", "RefundPayment", "PaymentRefunded")]
    assert order == (["StockReleased", "PaymentRefunded"] if mode == "choreography"
                     else ["StockReleased", "RefundPayment", "PaymentRefunded"])  # fmt: skip
    if mode == "choreography":
        released, refunded = (next(r for r in trace if r["type"] == t) for t in ("StockReleased", "PaymentRefunded"))
        assert refunded["causation_id"] == released["message_id"]
