"""Transcripts do not change from run to run: the same scenario three times in each mode, one transcript each.

Slow (about a minute): the default run checks every catalogue golden once per scenario and mode already
(tests/integration/test_scenarios.py, test_faults.py); this repeats some to show the transcript holds still."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.golden import golden_path, load
from shared.config import Mode

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
@pytest.mark.parametrize("scenario", ["shipping-failure", "transient-failure", "duplicate-delivery"])
async def test_three_runs_tell_the_same_transcript(
    scenario: str, mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    golden = load(golden_path(SCENARIOS[scenario]))[mode]
    for i in range(3):
        result = await runner.run(runner.RunOptions(SCENARIOS[scenario], mode, amqp_url, tmp_path / str(i), namespace))
        assert result.golden is not None and result.golden.checked, result.golden
        assert result.golden.matched, "\n".join(result.golden.diff)
    assert golden.lines[0].startswith("order #1: ")
