"""`sagalab clean --namespace NS` removes what NS declared on the broker and its `serve` data, and nothing
of any other namespace."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
from yarl import URL

from sagalab.clean import clean, known_exchanges, known_queues
from scenarios import runner, users
from scenarios.broker_control import BrokerControl
from scenarios.catalogue import SCENARIOS
from scenarios.topologies import queue_specs
from shared.runtime.publishers import broker_user
from shared.transport.broker import Broker
from shared.transport.topology import Topology

pytestmark = pytest.mark.broker


async def _existing(amqp_url: str, namespace: str) -> tuple[set[str], set[str]]:
    """The namespace's queues and exchanges that exist now (a passive declare of each known name)."""
    topology = Topology(namespace)
    queues: set[str] = set()
    exchanges: set[str] = set()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for names, found, kind in ((known_queues(topology), queues, "queue"),
                                   (known_exchanges(topology), exchanges, "exchange")):  # fmt: skip
            for name in names:
                channel = await connection.channel()  # a missing name closes the channel it was asked on
                declare = channel.declare_queue if kind == "queue" else channel.declare_exchange
                try:
                    await declare(name, passive=True)
                    found.add(name)
                except aio_pika.exceptions.ChannelClosed:
                    continue
    return queues, exchanges


async def test_clean_removes_one_namespace_and_leaves_the_other(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Both modes ran in namespace A and choreography in B; after `sagalab clean --namespace A` nothing of A is
    left (queues, exchanges, the dead-letter queue, `.sagalab/serve/A`) and B is untouched."""
    a, b = f"{namespace}-a", f"{namespace}-b"
    try:
        for ns, mode in ((a, "choreography"), (a, "orchestration"), (b, "choreography")):
            options = runner.RunOptions(SCENARIOS["happy-path"], mode, amqp_url, tmp_path / ns / mode, ns)
            assert (await runner.run(options)).expectation_met
        serve_data = tmp_path / ".sagalab" / "serve" / a
        serve_data.mkdir(parents=True)
        (serve_data / "payment.db").write_bytes(b"")
        before_a, before_b = await _existing(amqp_url, a), await _existing(amqp_url, b)
        assert {f"{a}.{q}" for q in ("payment", "orchestrator.replies", "dead-letters")} <= before_a[0]
        assert len(before_a[1]) == 4 and len(before_b[0]) >= 5  # three topic exchanges and the dead-letter one

        done = subprocess.run([sys.executable, "-m", "sagalab.cli", "clean", "--namespace", a, "--amqp-url", amqp_url],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"namespace {a}: deleted {len(before_a[0])} queue(s), 4 exchange(s) and 1 service data folder(s)" in (
            done.stdout), done.stdout

        assert await _existing(amqp_url, a) == (set(), set())
        assert not serve_data.exists()
        assert await _existing(amqp_url, b) == before_b
        again = subprocess.run([sys.executable, "-m", "sagalab.cli", "clean", "--namespace", a, "--amqp-url",
                                amqp_url], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)  # fmt: skip
        assert f"namespace {a}: deleted 0 queue(s), 0 exchange(s) and 0 service data folder(s)" in again.stdout
        assert await _existing(amqp_url, a) == (set(), set())  # cleaning declared nothing
    finally:  # A too, in case the CLI failed before it cleaned it
        for ns in (a, b):
            await clean(amqp_url, ns, data_root=tmp_path / "none")


def test_clean_without_a_broker_says_how_to_get_one(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sagalab.cli", "clean", "--namespace", "nobody", "--amqp-url",
                           "amqp://guest:guest@127.0.0.1:1/"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr


def _management_answers(amqp_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{URL(amqp_url).host}:15672/api/overview", timeout=2):
            return True
    except OSError as exc:  # 401 without credentials still means it answers
        return getattr(exc, "code", None) == 401


@pytest.fixture(scope="module")
def management_api(amqp_url: str) -> Iterator[None]:
    """RabbitMQ's management API, which `clean` lists names from (the path that matched by prefix): turned on
    with `rabbitmq-plugins enable rabbitmq_management` if it is off, and off again afterwards (other runs on
    the broker keep the state they had). Fails, never skips, if it cannot be reached."""
    if _management_answers(amqp_url):
        yield
        return
    control = BrokerControl.find(amqp_url)
    if control is None:
        pytest.fail("the management API is off and rabbitmq-plugins cannot reach the broker: enable "
                    "rabbitmq_management, or set SAGALAB_RABBITMQCTL", pytrace=False)  # fmt: skip
    *prefix, ctl = control.prefix
    plugins = [*prefix, ctl.replace("rabbitmqctl", "rabbitmq-plugins")]
    subprocess.run([*plugins, "enable", "rabbitmq_management"], check=True, capture_output=True, timeout=120)
    try:
        deadline = time.monotonic() + 60
        while not _management_answers(amqp_url):
            assert time.monotonic() < deadline, "the management API did not come up within 60 s"
            time.sleep(0.5)  # polling the plugin's port with a deadline
        yield
    finally:
        subprocess.run([*plugins, "disable", "rabbitmq_management"], check=False, capture_output=True, timeout=120)


async def _declare_choreography(amqp_url: str, namespace: str) -> None:
    """What a choreography run declares: four exchanges, its service queues, the tap and the dead letters."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    try:
        await runner.reset_namespace(broker, "choreography")
        channel = await broker.connection.channel()
        await channel.declare_queue(broker.topology.tap_queue, durable=True)
        await channel.close()
    finally:
        await broker.close()


@pytest.mark.broker_control  # may turn the management plugin on and off again: nothing else may run meanwhile
async def test_clean_leaves_a_namespace_nested_under_the_cleaned_one(amqp_url: str, namespace: str,
                                                                     management_api: None, tmp_path: Path) -> None:  # fmt: skip
    """Namespace `X.victim` lives under the prefix `X.`; `sagalab clean --namespace X` with the management API
    on deletes X's names (and a further orchestrator instance's replies queue it can only learn from the API)
    and leaves every queue and exchange of `X.victim` in place."""
    victim = f"{namespace}.victim"
    try:
        await _declare_choreography(amqp_url, namespace)
        await _declare_choreography(amqp_url, victim)
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue(f"{namespace}.orchestrator.replies.12", durable=True)
        before_victim = await _existing(amqp_url, victim)
        assert len(before_victim[0]) == 2 + len(queue_specs("choreography")) and len(before_victim[1]) == 4

        done = subprocess.run([sys.executable, "-m", "sagalab.cli", "clean", "--namespace", namespace, "--amqp-url",
                               amqp_url], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"deleted {len(before_victim[0]) + 1} queue(s), 4 exchange(s)" in done.stdout, done.stdout
        assert await _existing(amqp_url, victim) == before_victim
        assert await _existing(amqp_url, namespace) == (set(), set())
    finally:
        await clean(amqp_url, victim, data_root=tmp_path / "none")


@pytest.mark.parametrize("command", [["clean"], ["run", "happy-path", "--mode", "choreography"],
                                     ["compare", "happy-path"], ["serve", "payment", "--mode", "choreography"]])
def test_a_namespace_with_a_control_character_is_bad_usage(command: list[str], tmp_path: Path) -> None:
    """A namespace with a trailing newline (from `--namespace` or $SAGALAB_NAMESPACE) is refused with a clear
    error and status 2, before anything reaches the broker, never with a traceback."""
    for argv, env in (([*command, "--namespace", "ns\n"], {}), (command, {"SAGALAB_NAMESPACE": "ns\n"})):
        done = subprocess.run([sys.executable, "-m", "sagalab.cli", *argv], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path, check=False, env={**os.environ, **env})  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert "contains the control character(s) '\\n'" in done.stderr
        assert "Traceback" not in done.stderr


async def test_clean_removes_the_namespaces_own_broker_users_and_no_others(amqp_url: str, namespace: str,
                                                                          tmp_path: Path) -> None:  # fmt: skip
    """A namespace's service users (``sagalab users``, ``--own-users``) go with it; another namespace's stay. Found
    through the management API when it answers (the suite cleans after every test), else rabbitmqctl."""
    admin = users.find_admin(amqp_url)
    if admin is None:
        pytest.fail("this test needs rabbitmqctl or RabbitMQ's management API to create users: "
                    "`rabbitmq-plugins enable rabbitmq_management`")  # fmt: skip
    other = f"{namespace}-x"
    await users.provision(admin, amqp_url, namespace)
    await users.provision(admin, amqp_url, other)
    try:
        removed = await clean(amqp_url, namespace, data_root=tmp_path)
        left = await admin.users()
        assert removed["users"] == len(users.SERVICE_USERS)
        assert not {broker_user(namespace, s) for s in users.SERVICE_USERS} & left
        assert {broker_user(other, s) for s in users.SERVICE_USERS} <= left
    finally:
        await clean(amqp_url, other, data_root=tmp_path)
