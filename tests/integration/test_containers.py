"""`make containers`' compose check, end to end: scripts/containers.sh builds both images, brings up the broker
until its health check passes, both mode profiles until every service is ready, runs the scenario container
(compare out-of-stock against them) and a small tests container, stops everything (each must exit 0) and
removes the stack. Slow (a few minutes even with the images cached) and needs podman or Docker Compose."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.container]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "containers.sh"


def test_the_compose_stack_builds_runs_the_scenario_and_the_tests_container_then_stops_cleanly() -> None:
    """Exit 0, with every step in the summary; both modes compensated the order (the compare table's rows), and the
    project left no container behind. Runs beside `make containers` on its own ports and project name."""
    env = {**os.environ, "PROJECT": "sagalab-slowtest", "RABBITMQ_PORT": "5692", "RABBITMQ_UI_PORT": "15692",
           "TESTS": "-p no:cacheprovider tests/unit/test_compose.py tests/integration/test_compose_stack.py"}  # fmt: skip
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=1800, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    for step in ("build lab", "build tests", "compose up rabbitmq, until healthy", "broker: RabbitMQ",
                 "compose up choreography orchestration (8 services), until each is ready",
                 "scenario: compare out-of-stock", "tests container: pytest", "stop: every container exited 0"):  # fmt: skip
        assert f"containers:   {step}" in output, f"no `{step}` in the summary:\n{output[-3000:]}"
    compensated = next(line for line in output.splitlines() if "compensated" in line and "│" in line)
    assert [cell.strip() for cell in compensated.split("│")[2:4]] == ["1", "1"], compensated
    engine = "podman" if "(podman," in output else "docker"
    left = subprocess.run([engine, "ps", "-aq", "--filter", "label=com.docker.compose.project=sagalab-slowtest"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert left.stdout.strip() == "", "containers left behind"
