"""The issue's eight failure stories, each a scenario file a user could have written without Python, run in both
modes through the CLI (tests/data/scenarios/stories/README.md says what each shows)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

STORIES = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "stories"
QUICK = {"reply-lost", "same-order-twice"}
"""Run in the default set; the others wait on timeouts and deadlines and run with the slow set."""


def _marked(name: str) -> object:
    return pytest.param(name, marks=() if name in QUICK else (pytest.mark.slow,), id=name)


@pytest.mark.broker
@pytest.mark.parametrize("story", [_marked(p.stem) for p in sorted(STORIES.glob("*.toml"))])
def test_a_story_written_as_a_file_runs_in_both_modes_as_it_expects(story: str, amqp_url: str, namespace: str,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "compare", str(STORIES / f"{story}.toml"),
                          "--json", str(tmp_path / "out.json"), "--out", str(tmp_path / "run"),
                          "--amqp-url", amqp_url, "--namespace", namespace],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    assert all(result[mode]["settled"] and result[mode]["expectation_met"] for mode in ("choreography", "orchestration"))


def test_there_are_eight_stories_and_each_file_is_valid() -> None:
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "scenarios", "check",
                          *map(str, sorted(STORIES.glob("*.toml")))], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0 and out.stdout.count(": ok") == 8, out.stdout + out.stderr
