"""A service the runner starts (``serve --exit-with-parent``, stdin a pipe from its parent) stops on its own
when that parent dies, even by kill -9: no orphan keeps consuming the namespace's queues."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker

PARENT = """
import subprocess, sys, time
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=sys.stderr)
print(child.pid, flush=True)
while True:
    time.sleep(60)  # a runner busy with its run until killed; the test polls with a deadline
"""


def _gone(pid: int) -> bool:
    """No such process, or only its zombie left for init to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def _poll(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)  # polling with a deadline


async def test_a_service_started_with_exit_with_parent_stops_when_its_parent_is_killed(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    serve = [sys.executable, "-m", "sagalab.cli", "serve", "payment", "--mode", "orchestration", "--namespace",
             namespace, "--data-dir", str(data), "--amqp-url", amqp_url, "--exit-with-parent"]  # fmt: skip
    with (tmp_path / "payment.log").open("w") as log:
        parent = await asyncio.create_subprocess_exec(sys.executable, "-c", PARENT, *serve,
                                                      stdout=asyncio.subprocess.PIPE, stderr=log)  # fmt: skip
    assert parent.stdout is not None
    service_pid = int(await asyncio.wait_for(parent.stdout.readline(), 30))
    try:
        await _poll(lambda: (data / "payment.ready").exists(), 60, "the service to be ready")
        assert not _gone(service_pid)
        parent.send_signal(signal.SIGKILL)
        await parent.wait()
        await _poll(lambda: _gone(service_pid), 60, "the orphaned service to stop")
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
        if not _gone(service_pid):
            os.kill(service_pid, signal.SIGKILL)


async def test_a_service_watching_its_parent_still_stops_cleanly_on_sigterm(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """How the runner stops every service: SIGTERM while the watching thread is blocked reading stdin. The
    process exits 0 at once; reading through ``sys.stdin.buffer`` held a lock that made every service wait a
    second at exit and then abort (exit -6, "Fatal Python error: _enter_buffered_busy")."""
    data = tmp_path / "data"
    with (tmp_path / "payment.log").open("w") as log:
        service = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sagalab.serve", "payment", "--mode", "choreography", "--namespace", namespace,
            "--data-dir", str(data), "--amqp-url", amqp_url, "--exit-with-parent",
            stdin=asyncio.subprocess.PIPE, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        await _poll(lambda: (data / "payment.ready").exists(), 60, "the service to be ready")
        service.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.wait(), 30) == 0
    finally:
        if service.returncode is None:
            service.kill()
            await service.wait()
    assert "Fatal Python error" not in (tmp_path / "payment.log").read_text()
