"""Where the test suite finds its broker: AMQP_URL, else a testcontainers RabbitMQ when a Docker engine
answers, else 127.0.0.1:5672, else a failure that says how to get one (never a silent skip)."""

from __future__ import annotations

import inspect
import os
import types
from pathlib import Path
from typing import Any

import pytest

from tests import conftest


class FakeRabbit:
    """Stands in for testcontainers' RabbitMqContainer: records that it was started and stopped."""

    started: list[str] = []

    def __init__(self, image: str) -> None:
        self.image, self.port, self.username, self.password = image, 5672, "guest", "guest"

    def __enter__(self) -> FakeRabbit:
        FakeRabbit.started.append(f"start {self.image}")
        return self

    def __exit__(self, *_: Any) -> None:
        FakeRabbit.started.append("stop")

    def get_container_host_ip(self) -> str:
        return "10.0.0.7"

    def get_exposed_port(self, port: int) -> int:
        return 32768 + port - 5672

    def get_wrapped_container(self) -> Any:
        return types.SimpleNamespace(id="c0ffee")


@pytest.fixture
def nothing_found(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("AMQP_URL", raising=False)
    monkeypatch.delenv("SAGALAB_RABBITMQCTL", raising=False)
    monkeypatch.setattr(conftest, "_docker_answers", lambda: False)
    monkeypatch.setattr(conftest, "_port_open", lambda host, port: False)
    return monkeypatch


def test_amqp_url_comes_first(nothing_found: pytest.MonkeyPatch) -> None:
    nothing_found.setenv("AMQP_URL", "amqp://u:p@broker:5672/")
    nothing_found.setattr(conftest, "_docker_answers", lambda: pytest.fail("Docker asked although AMQP_URL is set"))
    assert next(conftest._find_broker()) == ("amqp://u:p@broker:5672/", "AMQP_URL")


def test_a_docker_engine_gets_a_throwaway_rabbitmq_container(nothing_found: pytest.MonkeyPatch) -> None:
    nothing_found.setattr(conftest, "_docker_answers", lambda: True)
    nothing_found.setattr(conftest, "_port_open", lambda host, port: pytest.fail("local broker tried before Docker"))
    nothing_found.setattr(conftest, "rabbitmq_container_class", lambda: FakeRabbit)
    FakeRabbit.started = []
    finder = conftest._find_broker()
    assert next(finder) == ("amqp://guest:guest@10.0.0.7:32768/", "testcontainers")
    assert os.environ["SAGALAB_RABBITMQCTL"] == "docker exec -i c0ffee rabbitmqctl"  # broker faults and users reach it
    assert next(finder, None) is None
    assert FakeRabbit.started == [f"start {conftest.CONTAINER_IMAGE}", "stop"]


def test_without_docker_the_local_broker(nothing_found: pytest.MonkeyPatch) -> None:
    nothing_found.setattr(conftest, "_port_open", lambda host, port: (host, port) == ("127.0.0.1", 5672))
    assert next(conftest._find_broker()) == (conftest.LOCAL_URL, "127.0.0.1:5672")


def test_no_broker_at_all_fails_saying_how_to_get_one(nothing_found: pytest.MonkeyPatch) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        next(conftest._find_broker())
    assert "AMQP_URL" in str(failed.value) and "rabbitmq-server -detached" in str(failed.value)


def test_the_real_testcontainers_module_has_what_the_suite_uses() -> None:
    """The testcontainers API the suite calls exists in the installed version (its rabbitmq extra)."""
    container = conftest.rabbitmq_container_class()
    for name in ("get_container_host_ip", "get_exposed_port", "get_wrapped_container", "__enter__", "__exit__"):
        assert hasattr(container, name), name
    assert {"image", "port", "username", "password"} <= set(inspect.signature(container.__init__).parameters)


def test_the_throwaway_broker_is_the_compose_file_s_broker() -> None:
    """Tests in a container and the compose stack run the same RabbitMQ image."""
    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    assert compose["services"]["rabbitmq"]["image"] == conftest.CONTAINER_IMAGE
