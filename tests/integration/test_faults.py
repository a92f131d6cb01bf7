"""The fault lab: every fault scenario in both modes, each checked by the oracle against its invariant."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import golden, runner
from scenarios.catalogue import SCENARIOS
from scenarios.fault_catalogue import FAULT_SCENARIOS
from shared.config import Mode

pytestmark = pytest.mark.broker

NEEDS_BROKER_CONTROL = {"broker-restart", "connections-closed"}


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
@pytest.mark.parametrize("scenario", [s.name for s in FAULT_SCENARIOS])
async def test_fault_scenario_meets_its_invariant(
    scenario: str, mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """The fault happens, and the run ends exactly as the scenario expects in this mode (the oracle decides), and
    tells the story its golden transcript keeps, when it keeps one (scenarios/golden/)."""
    result = await runner.run(runner.RunOptions(SCENARIOS[scenario], mode, amqp_url, tmp_path, namespace))
    assert result.expectation_met, (result.expectation_failures, result.golden)
    if mode in golden.load(golden.golden_path(SCENARIOS[scenario])):  # its golden transcript, compared in this run
        assert result.golden is not None and result.golden.checked and result.golden.matched, result.golden
    injected = result.extra["faults_injected"]
    assert not any(k.startswith(("never", "injector failed")) for k in injected), injected
    if SCENARIOS[scenario].injectors.get(mode):
        assert injected, "the runner injected nothing"
    if SCENARIOS[scenario].faults.get(mode) and any("crash" in f for fs in SCENARIOS[scenario].faults[mode].values()
                                                   for f in fs):  # fmt: skip
        assert result.extra["restarts"], "a crash fault must have killed and restarted a service"
