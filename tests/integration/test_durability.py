"""``--durability light`` against the broker: classic queues, no confirms, a clear error where a namespace's queues
were declared with the other durability, and a run and a bench end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.run_state import RunOptions
from shared.config import Mode
from shared.transport.adapter import Transport
from shared.transport.broker import TRANSPORTS, Broker, DurabilityClash, bindings
from shared.transport.delivery import Delivery
from shared.transport.topology import Durability, QueueSpec, Topology
from shared.transport.wire import Outgoing
from tests.integration.inprocess import wait_until

pytestmark = pytest.mark.broker

SPEC = QueueSpec("durability-test", bindings(("events", "test.#")), prefetch=8)


@pytest.mark.parametrize(("first", "then"), [("strict", "light"), ("light", "strict")])
async def test_a_queue_declared_with_the_other_durability_is_a_clear_error(
    amqp_url: str, namespace: str, first: Durability, then: Durability
) -> None:
    """RabbitMQ cannot redeclare a quorum queue classic (or back): the error names the queue and `sagalab clean`."""
    before = await Broker.connect(amqp_url, Topology(namespace, durability=first), "first")
    after = await Broker.connect(amqp_url, Topology(namespace, durability=then), "then")
    try:
        await before.declare_queue(SPEC)
        with pytest.raises(DurabilityClash) as caught:
            await after.declare_queue(SPEC, await after.connection.channel())
        assert f"queue {namespace}.durability-test" in str(caught.value)
        assert f"sagalab clean --namespace {namespace}" in str(caught.value)
        assert f"--durability {first}" in str(caught.value)
    finally:
        await after.close()
        await before.close()


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_light_publishes_without_confirms_and_delivers(amqp_url: str, namespace: str, name: str) -> None:
    """Both transports publish on a channel that asks for no confirms, and the message still arrives."""
    transport: Transport = TRANSPORTS[name]()
    topology = Topology(namespace, durability="light")
    broker = await Broker.connect(amqp_url, topology, "light", transport=transport)
    got: list[Delivery] = []

    async def received(delivery: Delivery) -> None:
        got.append(delivery)
        await delivery.ack()

    try:
        assert not (await broker._require_channel().get_underlay_channel()).publisher_confirms
        await broker.consume(SPEC, received)
        await broker.publish(Outgoing(exchange="events", routing_key="test.Ping", type="Ping", message_id="m-1",
                                      correlation_id="c-1", body=b"{}"))  # fmt: skip
        await wait_until(lambda: len(got) == 1, timeout_s=10)
        assert got[0].message_id == "m-1"
    finally:
        await broker.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True, timeout=600)


def test_a_light_run_completes_and_its_result_says_light(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """out-of-stock in orchestration at light: compensated, consistent, its golden matched, ``durability`` light."""
    out = _cli("run", "out-of-stock", "--mode", "orchestration", "--durability", "light", "--json",
               str(tmp_path / "r.json"), "--out", str(tmp_path / "run"), "--amqp-url", amqp_url, "--namespace", namespace)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["durability"] == "light" and result["orders"]["compensated"] == 1 and result["consistency"]["ok"]


def test_a_light_bench_measures_the_raw_chain_and_the_sagas_alike(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """The raw relays run without confirms too (they ack once written); the figures say light and classic."""
    out = _cli("bench", "--mode", "orchestration", "--orders", "30", "--concurrency", "10", "--failure-rate", "0.1",
               "--durability", "light", "--json", str(tmp_path / "b.json"), "--out", str(tmp_path / "runs"),
               "--amqp-url", amqp_url, "--namespace", namespace)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads((tmp_path / "b.json").read_text())
    assert data["ok"] and data["machine"]["durability"] == "light" and data["machine"]["queues"] == "classic"
    assert "light durability" in out.stdout
    m = data["modes"]["orchestration"]
    assert m["raw"]["settled"] == 30 and (m["saga"]["verdict"]["completed"], m["saga"]["verdict"]["compensated"]) == (27, 3)


@pytest.mark.broker_control
@pytest.mark.parametrize("mode", ["choreography", "orchestration"])
async def test_the_crash_that_loses_messages_under_light_loses_none_under_strict(
    amqp_url: str, namespace: str, tmp_path: Path, mode: Mode
) -> None:
    """``light-broker-crash`` at strict: every publish the unread window swallowed was unconfirmed, so it is sent
    again; every order ends, consistently (the light side is ``test_faults``' run of the same scenario)."""
    options = RunOptions(SCENARIOS["light-broker-crash"], mode, amqp_url, tmp_path, namespace, durability="strict")
    result = await runner.run(options)
    assert result.durability == "strict" and result.extra["faults_injected"] == {"broker down with unread publishes": 1}
    assert result.settled and result.consistency.ok and result.orders.stuck == 0, result.consistency
