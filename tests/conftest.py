"""Test set-up shared by every test: where the broker comes from, and a fresh namespace per test.

The broker is found in this order: ``AMQP_URL`` if set; else a RabbitMQ container started with
testcontainers when a Docker engine answers; else a broker on 127.0.0.1:5672; else every broker test
fails with a message saying how to get one. Broker tests are never skipped silently.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

LOCAL_URL = "amqp://guest:guest@127.0.0.1:5672/"
HOW_TO_GET_A_BROKER = (
    "No RabbitMQ for the broker tests. Either set AMQP_URL=amqp://user:pass@host:5672/, or run a Docker "
    "engine (the tests then start rabbitmq:3.13 with testcontainers), or start a local broker: "
    "`apt-get install rabbitmq-server && rabbitmq-server -detached` (or `docker compose up -d rabbitmq`)."
)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


CONTAINER_IMAGE = "rabbitmq:3.13.7-management"  # the compose file's broker


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
    if _docker_answers():
        with rabbitmq_container_class()(CONTAINER_IMAGE) as rabbit:
            host, port = rabbit.get_container_host_ip(), rabbit.get_exposed_port(rabbit.port)
            # Broker faults (restart, dropped connections) reach the container's own rabbitmqctl.
            container_id = rabbit.get_wrapped_container().id
            os.environ.setdefault("SAGALAB_RABBITMQCTL", f"docker exec -i {container_id} rabbitmqctl")
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
