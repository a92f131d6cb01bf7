"""A scenario written in a file, without Python, runs in both modes from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import Mode

pytestmark = pytest.mark.broker
DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def sagalab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip


def test_a_new_scenario_file_runs_as_written_in_both_modes(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """`sagalab scenarios new` writes a file; `sagalab compare FILE` runs it as it is in both modes and exits 0: two
    orders race for one keyboard, one completes and one is refunded, and the file's duplicate is injected."""
    assert sagalab("scenarios", "new", "class-lab", cwd=tmp_path).returncode == 0
    out = sagalab("compare", "class-lab.toml", "--json", "out.json", "--out", "run", "--amqp-url", amqp_url,
                  "--namespace", namespace, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["scenario"] == "class-lab"
    for mode in ("choreography", "orchestration"):
        r = data[mode]
        assert r["scenario"] == "class-lab" and r["expectation_met"] and r["settled"], r
        assert (r["orders"]["completed"], r["orders"]["compensated"]) == (1, 1)
        assert r["extra"]["faults_injected"] == {"duplicate PaymentCharged": 1}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
@pytest.mark.parametrize("name", ["three-customers", "express-transient", "big-spender"])
def test_the_user_scenarios_run_in_each_mode(name: str, mode: Mode, amqp_url: str, namespace: str,
                                             tmp_path: Path) -> None:  # fmt: skip
    """`sagalab run FILE --mode M` on the user scenarios of tests/data: listed orders, a mode-only crash, the
    Express workflow on a definition found beside the file; each meets what its file expects."""
    out = sagalab("run", str(DATA / f"{name}.toml"), "--mode", mode, "--json", "out.json", "--out", "run",
                  "--amqp-url", amqp_url, "--namespace", namespace, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["scenario"] == name and result["expectation_met"], result
    if name == "express-transient" and mode == "orchestration":
        kept = (tmp_path / "run" / "definition.asl.json").read_text()
        assert kept == (DATA / "checkout-copy.asl.json").read_text()
