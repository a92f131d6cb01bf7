"""The suite's testcontainers branch for real: a RabbitMQ container started through a Docker API (podman's,
`podman system service`, started here when none answers), one saga run against it, the container gone after.

Marked `container` (not in the default run): `pytest -m container`, or `make containers`. The image is
RABBITMQ_IMAGE if set (scripts/local-images.sh prints a local stand-in), else the compose file's default."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from tests import conftest

pytestmark = [pytest.mark.container, pytest.mark.broker]

NEEDS_AN_ENGINE = (
    "This test starts a RabbitMQ container: set DOCKER_HOST to a Docker API, or install podman "
    "(scripts/podman-setup.sh, as root), which the test then serves itself."
)


@pytest.fixture
def docker_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The engine answering the Docker API; podman's own on a socket of this test's when none answers yet."""
    if engine := conftest._container_engine():
        yield engine
        return
    podman = shutil.which("podman")
    if not podman:
        pytest.fail(NEEDS_AN_ENGINE, pytrace=False)
    socket = tmp_path / "podman.sock"
    log = (tmp_path / "podman-service.log").open("w")
    service = subprocess.Popen([podman, "system", "service", "--time=0", f"unix://{socket}"], stdout=log, stderr=log)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    try:
        end = time.monotonic() + 30
        while (engine := conftest._container_engine()) is None:
            assert service.poll() is None, f"podman system service exited: {(tmp_path / 'podman-service.log').read_text()}"
            assert time.monotonic() < end, "podman's Docker API did not answer within 30 s"
            time.sleep(0.1)  # polling the socket with a deadline
        yield engine
    finally:
        service.terminate()
        service.wait(30)
        log.close()


async def test_testcontainers_starts_rabbitmq_and_a_saga_runs_on_it(
    docker_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no AMQP_URL, the broker discovery starts a RabbitMQ container through the Docker API; out-of-stock in
    orchestration ends compensated and consistent on it (7 messages), its rabbitmqctl answers through
    SAGALAB_RABBITMQCTL, and the container is removed when the session's broker is torn down."""
    import docker

    monkeypatch.delenv("AMQP_URL", raising=False)
    monkeypatch.setenv("SAGALAB_RABBITMQCTL", "")  # recorded, so the value the finder sets is undone after
    monkeypatch.delenv("SAGALAB_RABBITMQCTL")
    finder = conftest._find_broker()
    url, source = next(finder)
    rabbitmqctl = os.environ["SAGALAB_RABBITMQCTL"]
    container_id = rabbitmqctl.split()[3]
    client = docker.from_env()
    try:
        assert source == "testcontainers"
        assert conftest.container_image() in client.containers.get(container_id).image.tags
        result = await runner.run(runner.RunOptions(SCENARIOS["out-of-stock"], "orchestration", url,
                                                    tmp_path / "run", "tc-saga"))  # fmt: skip
        assert result.settled and result.expectation_met, result.expectation_failures
        assert result.consistency.ok and result.orders.compensated == 1, result.consistency.violations
        assert result.messages.total == 7
        if docker_api == "podman" or shutil.which("docker"):
            listed = subprocess.run([*shlex.split(rabbitmqctl), "list_queues", "name"], capture_output=True,
                                    text=True, timeout=60, check=False)  # fmt: skip
            assert listed.returncode == 0 and "tc-saga" in listed.stdout, listed.stdout + listed.stderr
    finally:
        next(finder, None)
    assert not client.containers.list(all=True, filters={"id": container_id}), "the container was left behind"
