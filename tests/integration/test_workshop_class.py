"""A class on one broker: ten participants, each in the vhost ``sagalab workshop provision`` gave them, run
``sagalab compare mixed`` at the same time, and every one of them ends consistent in both modes.

Slow and heavy (twenty runs' services at once), so marked ``slow``. It also measures what the guide quotes:
the wall time of one comparison alone and of each of the ten together, printed (``pytest -s``) and written to
``$SAGALAB_CLASS_TIMES`` when set. Nothing is asserted about the times.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_workshop_vhosts import sagalab, teardown

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PARTICIPANTS = int(os.environ.get("SAGALAB_CLASS_SIZE", "10"))
"""Ten by default; ``SAGALAB_CLASS_SIZE`` changes it (a quick check of the test itself, or a bigger room)."""


@pytest.fixture
def seats(amqp_url: str, tmp_path: Path) -> Iterator[list[dict[str, str]]]:
    name = f"tc{uuid.uuid4().hex[:8]}"
    sheet = tmp_path / "sheet.csv"
    made = sagalab("workshop", "provision", "--participants", str(PARTICIPANTS), "--name", name, "--out", str(sheet),
                   "--amqp-url", amqp_url)  # fmt: skip
    try:
        assert made.returncode == 0, made.stdout + made.stderr
        with sheet.open() as f:
            yield list(csv.DictReader(f))
    finally:
        teardown(name, amqp_url)


def start_compare(seat: dict[str, str], out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AMQP_URL": seat["amqp_url"], "SAGALAB_NAMESPACE": seat["participant"]}
    return subprocess.Popen([sys.executable, "-m", "sagalab.cli", "compare", "mixed", "--out", str(out), "--json",
                             str(out / "result.json")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


def finish(run: subprocess.Popen[str], started: float, out: Path) -> float:
    """Wait for one comparison; check it ended as expected and consistent in both modes; its wall time."""
    output, _ = run.communicate(timeout=900)
    took = time.monotonic() - started
    assert run.returncode == 0, output
    result = json.loads((out / "result.json").read_text())
    for mode in ("choreography", "orchestration"):
        assert result[mode]["consistency"]["ok"], (mode, result[mode]["consistency"])
        assert result[mode]["expectation_met"], (mode, output)
    return took


def test_ten_participants_compare_mixed_at_once_and_all_end_consistent(seats: list[dict[str, str]],
                                                                       tmp_path: Path) -> None:  # fmt: skip
    alone_out = tmp_path / "alone"
    alone = finish(start_compare(seats[0], alone_out), time.monotonic(), alone_out)
    runs = []
    for seat in seats:
        out = tmp_path / seat["participant"]
        runs.append((start_compare(seat, out), time.monotonic(), out))
    together = [finish(run, started, out) for run, started, out in runs]
    times = {"alone_s": round(alone, 1), "together_s": [round(t, 1) for t in together],
             "cpus": os.cpu_count()}  # fmt: skip
    print(f"\ncompare mixed wall times: {json.dumps(times)}")
    if path := os.environ.get("SAGALAB_CLASS_TIMES"):
        Path(path).write_text(json.dumps(times, indent=2))
