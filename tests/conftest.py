"""Test set-up shared by every test: where the broker comes from, and a fresh namespace per test.

The broker is found in this order: ``AMQP_URL`` if set; else a RabbitMQ container started with
testcontainers when a Docker API answers (Docker's, or podman's: ``podman system service`` with
``DOCKER_HOST=unix:///...``); else a broker on 127.0.0.1:5672; else every broker test fails with a message
saying how to get one. Broker tests are never skipped silently. The container's image is ``RABBITMQ_IMAGE``
if set (as in the compose file), else the compose file's default.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

LOCAL_URL = "amqp://guest:guest@127.0.0.1:5672/"
HOW_TO_GET_A_BROKER = (
    "No RabbitMQ for the broker tests. Either set AMQP_URL=amqp://user:pass@host:5672/, or run a Docker "
    "engine or podman's Docker API (the tests then start rabbitmq:3.13 with testcontainers; see "
    "docs/containers.md), or start a local broker: "
    "`apt-get install rabbitmq-server && rabbitmq-server -detached` (or `docker compose up -d rabbitmq`)."
)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _container_engine() -> str | None:
    """``"podman"`` or ``"docker"``: which engine answers the Docker API at DOCKER_HOST (or Docker's default
    socket); None when none does."""
    try:
        import docker

        components = docker.from_env(timeout=3).version().get("Components") or []
    except Exception:
        return None
    return "podman" if any("podman" in str(c.get("Name", "")).lower() for c in components) else "docker"


def settle_testcontainers_for(engine: str) -> None:
    """What testcontainers needs to run on podman's Docker API, unless the TESTCONTAINERS_* variables say
    otherwise: no Ryuk (its image comes from a registry, and the container is removed by this fixture anyway),
    and the container's port mapped on the engine's host, since testcontainers otherwise believes it runs
    inside a container here and asks for a gateway address podman's API does not report (KeyError 'HostConfig')."""
    if engine != "podman":
        return
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    if "TESTCONTAINERS_RYUK_DISABLED" not in os.environ:
        testcontainers_config.ryuk_disabled = True
    if testcontainers_config.connection_mode_override is None:
        testcontainers_config.connection_mode_override = ConnectionMode.docker_host
    if not testcontainers_config.tc_host_override and os.environ.get("DOCKER_HOST", "unix://").startswith("unix://"):
        testcontainers_config.tc_host_override = "127.0.0.1"


CONTAINER_IMAGE = "rabbitmq:3.13.7-management"  # the compose file's broker, unless RABBITMQ_IMAGE names another


def container_image() -> str:
    """The image of the throwaway broker: RABBITMQ_IMAGE as in the compose file (a local stand-in on a machine
    that reaches no registry, see scripts/local-images.sh), else the compose file's default."""
    return os.environ.get("RABBITMQ_IMAGE") or CONTAINER_IMAGE


def rabbitmq_container_class() -> Any:
    """testcontainers' RabbitMQ module: under ``community`` since 4.14, at the top level before."""
    try:
        from testcontainers.community.rabbitmq import RabbitMqContainer
    except ImportError:
        from testcontainers.rabbitmq import RabbitMqContainer
    return RabbitMqContainer


def _find_broker() -> Iterator[tuple[str, str]]:
    """Yields (url, where it came from) once; tears down a container it started."""
    if url := os.environ.get("AMQP_URL"):
        yield url, "AMQP_URL"
        return
    if engine := _container_engine():
        settle_testcontainers_for(engine)
        with rabbitmq_container_class()(container_image()) as rabbit:
            host, port = rabbit.get_container_host_ip(), rabbit.get_exposed_port(rabbit.port)
            # Broker faults (restart, dropped connections) reach the container's own rabbitmqctl.
            container_id = rabbit.get_wrapped_container().id
            cli = "podman" if engine == "podman" and shutil.which("podman") else "docker"
            os.environ.setdefault("SAGALAB_RABBITMQCTL", f"{cli} exec -i {container_id} rabbitmqctl")
            yield f"amqp://{rabbit.username}:{rabbit.password}@{host}:{port}/", "testcontainers"
        return
    if _port_open("127.0.0.1", 5672):
        yield LOCAL_URL, "127.0.0.1:5672"
        return
    pytest.fail(HOW_TO_GET_A_BROKER, pytrace=False)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """The broker every integration test talks to (see the module docstring for the search order)."""
    finder = _find_broker()
    url, source = next(finder)
    os.environ.setdefault("SAGALAB_TEST_BROKER", source)
    yield url
    next(finder, None)


@pytest.fixture
def namespace(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A namespace nobody else uses, so tests never share a queue; removed from the broker afterwards
    with ``sagalab clean``'s own code."""
    from sagalab.clean import clean

    ns = f"t-{uuid.uuid4().hex[:10]}"
    yield ns
    asyncio.run(clean(amqp_url, ns, data_root=tmp_path_factory.getbasetemp()))


def pytest_report_header(config: pytest.Config) -> str:
    return f"broker: AMQP_URL={os.environ.get('AMQP_URL', '(unset)')}; see tests/conftest.py for the search order"
