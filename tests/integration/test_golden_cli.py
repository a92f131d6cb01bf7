"""Golden transcripts from the command line: ``--record-golden`` writes one, the next run compares with it, and a
tampered golden fails the run (exit 1) with the diff printed and named in the result JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import sagalab

pytestmark = pytest.mark.broker


def test_a_recorded_golden_is_checked_and_a_tampered_one_fails_the_run(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    golden = tmp_path / "happy.golden.json"
    common = ["run", "happy-path", "--mode", "orchestration", "--namespace", namespace, "--amqp-url", amqp_url,
              "--golden", str(golden)]  # fmt: skip
    recorded = sagalab(*common, "--record-golden", "--out", str(tmp_path / "one"), "--json", str(tmp_path / "one.json"))
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "recorded this run's transcript" in recorded.stdout
    stored = json.loads(golden.read_text())
    assert set(stored) == {"scenario", "orchestration"}  # only the mode that ran
    assert "              ShipmentScheduled  shipping -> orchestrator" in stored["orchestration"]["transcript"]
    assert "  TaskStateEntered ScheduleShipment" in stored["orchestration"]["transcript"]
    assert json.loads((tmp_path / "one.json").read_text())["golden"]["recorded"] is True

    golden.write_text(golden.read_text().replace("ShipmentScheduled  shipping", "ShipmentFailed  shipping"))
    tampered = sagalab(*common, "--out", str(tmp_path / "two"), "--json", str(tmp_path / "two.json"))
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "the transcript DIFFERS" in tampered.stdout
    assert "-              ShipmentFailed  shipping -> orchestrator" in tampered.stdout
    assert "+              ShipmentScheduled  shipping -> orchestrator" in tampered.stdout
    result = json.loads((tmp_path / "two.json").read_text())
    assert result["expectation_met"] is False and result["golden"]["checked"] and not result["golden"]["matched"]
    assert any(str(golden) in failure for failure in result["expectation_failures"])
    assert result["orders"]["completed"] == 1  # the run itself was fine: only the golden failed it

    broken = golden.write_text("{not json") and sagalab(*common)
    assert broken.returncode == 2 and "is not a golden transcript file" in broken.stdout
