"""Pruning running inside live services never breaks the duplicate defences: within the horizon the inbox
drops the copy; with a horizon of zero (every row pruned at once) the business key still stops it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from shared.config import Mode

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
@pytest.mark.parametrize("horizon_s", ["600", "0"])
async def test_a_duplicate_refund_trigger_refunds_once_while_services_prune(
    mode: Mode, horizon_s: str, amqp_url: str, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """duplicate-delivery with a prune pass every 50 ms: one refund and the oracle satisfied. Within the
    horizon the scenario's own expectation (the inbox dropped the copy) holds too; with a horizon of zero the
    copy may find its inbox row pruned, and the business key answers it instead."""
    monkeypatch.setenv("SAGALAB_PRUNE_EVERY_S", "0.05")
    monkeypatch.setenv("SAGALAB_INBOX_HORIZON_S", horizon_s)
    monkeypatch.setenv("SAGALAB_HISTORY_RETENTION_S", "600")
    result = await runner.run(runner.RunOptions(SCENARIOS["duplicate-delivery"], mode, amqp_url, tmp_path, namespace))
    assert result.settled and result.consistency.ok, result.consistency.violations
    assert result.orders.compensated == result.orders.total == 1 and result.orders.inconsistent == 0
    if horizon_s != "0":
        assert result.expectation_met
