"""Where the test suite finds its broker: AMQP_URL, else a testcontainers RabbitMQ when a Docker API answers
(Docker's or podman's), else 127.0.0.1:5672, else a failure that says how to get one (never a silent skip).
tests/integration/test_testcontainers.py starts a real one through podman."""

from __future__ import annotations

import inspect
import os
import types
from typing import Any

import pytest

from tests import conftest
from tests.unit.test_compose import ENV, load_compose


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
    for name in ("AMQP_URL", "SAGALAB_RABBITMQCTL", "RABBITMQ_IMAGE"):
        # Set, then deleted: monkeypatch records only a variable that exists, and the finder sets
        # SAGALAB_RABBITMQCTL, which must not leak into the broker tests that run after these.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(conftest, "_container_engine", lambda: None)
    monkeypatch.setattr(conftest, "_port_open", lambda host, port: False)
    return monkeypatch


def test_amqp_url_comes_first(nothing_found: pytest.MonkeyPatch) -> None:
    nothing_found.setenv("AMQP_URL", "amqp://u:p@broker:5672/")
    nothing_found.setattr(conftest, "_container_engine", lambda: pytest.fail("Docker asked although AMQP_URL is set"))
    assert next(conftest._find_broker()) == ("amqp://u:p@broker:5672/", "AMQP_URL")


def test_a_docker_engine_gets_a_throwaway_rabbitmq_container(nothing_found: pytest.MonkeyPatch) -> None:
    nothing_found.setattr(conftest, "_container_engine", lambda: "docker")
    nothing_found.setattr(conftest, "_port_open", lambda host, port: pytest.fail("local broker tried before Docker"))
    nothing_found.setattr(conftest, "rabbitmq_container_class", lambda: FakeRabbit)
    FakeRabbit.started = []
    finder = conftest._find_broker()
    assert next(finder) == ("amqp://guest:guest@10.0.0.7:32768/", "testcontainers")
    assert os.environ["SAGALAB_RABBITMQCTL"] == "docker exec -i c0ffee rabbitmqctl"  # broker faults and users reach it
    assert next(finder, None) is None
    assert FakeRabbit.started == [f"start {conftest.CONTAINER_IMAGE}", "stop"]


def test_podman_s_api_gets_the_image_rabbitmq_image_names_and_podman_s_rabbitmqctl(
    nothing_found: pytest.MonkeyPatch,
) -> None:
    """On podman, RABBITMQ_IMAGE (a local stand-in) is started, testcontainers is set up for podman, and the broker
    faults reach the container through `podman exec`."""
    nothing_found.setattr(conftest, "_container_engine", lambda: "podman")
    nothing_found.setattr(conftest.shutil, "which", lambda name: f"/usr/bin/{name}")
    nothing_found.setattr(conftest, "settle_testcontainers_for", lambda engine: FakeRabbit.started.append(engine))
    nothing_found.setattr(conftest, "rabbitmq_container_class", lambda: FakeRabbit)
    nothing_found.setenv("RABBITMQ_IMAGE", "localhost/sagalab-rabbitmq:3-management")
    FakeRabbit.started = []
    finder = conftest._find_broker()
    assert next(finder)[1] == "testcontainers"
    assert os.environ["SAGALAB_RABBITMQCTL"] == "podman exec -i c0ffee rabbitmqctl"
    next(finder, None)
    assert FakeRabbit.started == ["podman", "start localhost/sagalab-rabbitmq:3-management", "stop"]


def test_testcontainers_is_set_up_for_podman_and_left_alone_for_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Podman: no Ryuk, the mapped port on 127.0.0.1; unless the TESTCONTAINERS_* variables chose. Docker: as it was."""
    from testcontainers.core.config import ConnectionMode
    from testcontainers.core.config import testcontainers_config as config

    for name in ("ryuk_disabled", "connection_mode_override", "tc_host_override"):
        monkeypatch.setattr(config, name, None if name != "ryuk_disabled" else False)  # restored after the test
    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/podman/podman.sock")
    conftest.settle_testcontainers_for("docker")
    assert (config.ryuk_disabled, config.connection_mode_override, config.tc_host_override) == (False, None, None)
    conftest.settle_testcontainers_for("podman")
    assert (config.ryuk_disabled, config.connection_mode_override, config.tc_host_override) == (
        True, ConnectionMode.docker_host, "127.0.0.1")  # fmt: skip
    config.tc_host_override = "podman-host"
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "false")
    config.ryuk_disabled = False
    conftest.settle_testcontainers_for("podman")
    assert (config.ryuk_disabled, config.tc_host_override) == (False, "podman-host")


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


def test_the_throwaway_broker_is_the_compose_file_s_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests in a container and the compose stack run the same RabbitMQ image, by default and with RABBITMQ_IMAGE."""
    monkeypatch.delenv("RABBITMQ_IMAGE", raising=False)
    assert load_compose()["services"]["rabbitmq"]["image"] == conftest.CONTAINER_IMAGE == conftest.container_image()
    monkeypatch.setenv("RABBITMQ_IMAGE", "localhost/sagalab-rabbitmq:3-management")
    stand_in = load_compose({**ENV, "RABBITMQ_IMAGE": "localhost/sagalab-rabbitmq:3-management"})
    assert stand_in["services"]["rabbitmq"]["image"] == conftest.container_image()
