"""The compose stack, run as the compose file says, without Docker: both modes' services as processes with
the compose commands, environment and shared volumes, then the one-shot `scenario` container's command.

This is as far as the stack can be run on a machine with no Docker engine: the image is not built and the
broker is the test's, but every command, path, namespace and volume the compose file wires together is used
as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagalab.clean import clean
from shared.config import MODES

from .compose_stack import ComposeStack

pytestmark = pytest.mark.broker


async def test_docker_compose_up_then_the_scenario_container(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Every service of both profiles starts and stops cleanly; `scenario` (compare out-of-stock --attach) exits 0
    twice against the same long-lived services, each time one compensated order and 5/7 messages with no
    violation (each run seeds SKUs of its own); `run mixed --attach` too; the run folders land on their volume."""
    stack = ComposeStack(amqp_url, namespace, tmp_path)
    try:
        async with stack.up(*MODES) as services:
            assert len(services) == 8
            for _ in range(2):
                status, output = stack.run(stack.container("scenario"))
                assert status == 0, output
            status, output = stack.run(stack.container("scenario", ["run", "mixed", "--mode", "orchestration",
                                                                    "--orders", "20", "--attach", "/stack"]))  # fmt: skip
            assert status == 0, output
        assert {name: p.returncode for name, p in services.items()} == dict.fromkeys(services, 0)  # a clean stop
    finally:
        for mode in MODES:
            await clean(amqp_url, f"{namespace}-{mode}", data_root=tmp_path / "none")
    runs = [
        json.loads(r.read_text())
        for r in sorted((tmp_path / "volumes" / "scenario-runs").glob("runs/*/**/result.json"))
    ]
    compares = [r for r in runs if r["scenario"] == "out-of-stock"]
    assert (
        sorted((r["mode"], r["messages"]["total"]) for r in compares)
        == [("choreography", 5)] * 2 + [("orchestration", 7)] * 2
    )
    assert all(r["orders"]["compensated"] == 1 and r["consistency"]["ok"] for r in compares), compares
    (mixed,) = [r for r in runs if r["scenario"] == "mixed"]
    assert mixed["orders"]["total"] == 20 and mixed["consistency"]["ok"], mixed


def test_a_fault_scenario_is_refused_in_attach_mode(tmp_path: Path) -> None:
    """Faults need the runner to own the processes: --attach with one is a usage error."""
    done = subprocess.run([sys.executable, "-m", "sagalab.cli", "run", "crash-after-commit", "--mode",
                           "choreography", "--attach", str(tmp_path)], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 2 and "without --attach" in done.stdout
