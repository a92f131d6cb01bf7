"""``--durability strict|light``: how each declares its queues and publishes, how the setting reaches every
process a run or bench starts, and the attempts a classic queue does not count."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sagalab.bench.plan import options_from
from sagalab.bench.relay import CHAINS, RelayProcess
from sagalab.bench.result import Machine
from sagalab.cli import main, parser
from scenarios.files.load import load
from scenarios.processes import ServiceProcess
from shared.config import Settings, UnknownDurability, default_durability
from shared.runtime.failures import HandlerFailures
from shared.transport.topology import DELIVERY_LIMIT, QueueSpec, Topology

SPEC = QueueSpec("payment", ())


def test_strict_declares_quorum_queues_with_a_delivery_limit_and_waits_for_confirms() -> None:
    """strict is what ran before: quorum queues, the poison limit, publisher confirms."""
    t = Topology("ns", durability="strict")
    assert t.confirms and t.queue_type == "quorum"
    assert t.queue_arguments_for(SPEC) == {"x-queue-type": "quorum", "x-dead-letter-exchange": "ns.dead-letter",
                                          "x-delivery-limit": DELIVERY_LIMIT}  # fmt: skip


def test_light_declares_classic_durable_queues_and_asks_for_no_confirms() -> None:
    """light is the peer engine's settings: classic queues (which take no delivery limit), no confirms."""
    t = Topology("ns", durability="light")
    assert not t.confirms and t.queue_type == "classic"
    assert t.queue_arguments_for(SPEC) == {"x-queue-type": "classic", "x-dead-letter-exchange": "ns.dead-letter"}
    private = QueueSpec("bench", (), durable=False)
    assert t.queue_arguments_for(private) == Topology("ns", durability="strict").queue_arguments_for(private)


def test_the_default_is_strict_unless_sagalab_durability_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAGALAB_DURABILITY reaches every Topology and Settings made without saying; a bad value is refused."""
    monkeypatch.delenv("SAGALAB_DURABILITY", raising=False)
    assert default_durability() == "strict" == Topology("ns").durability
    monkeypatch.setenv("SAGALAB_DURABILITY", "light")
    assert Topology("ns").durability == "light" == Settings("payment", "choreography").durability
    monkeypatch.setenv("SAGALAB_DURABILITY", "fsync")
    with pytest.raises(UnknownDurability, match="SAGALAB_DURABILITY='fsync'"):
        default_durability()


def test_a_bad_sagalab_durability_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Exit 2 with the reason, before anything connects."""
    monkeypatch.setenv("SAGALAB_DURABILITY", "fsync")
    assert main(["clean", "--namespace", "h1zz"]) == 2
    assert "names no durability" in capsys.readouterr().out


def test_run_compare_serve_and_bench_take_durability() -> None:
    """--durability on every command that starts services; only strict and light are accepted."""
    p = parser()
    assert p.parse_args(["run", "happy-path", "--mode", "choreography", "--durability", "light"]).durability == "light"
    assert p.parse_args(["compare", "happy-path"]).durability is None  # the scenario's own, else the environment
    assert p.parse_args(["serve", "payment", "--mode", "choreography", "--durability", "light"]).durability == "light"
    args = p.parse_args(["bench", "--durability", "light"])
    assert options_from(args, Path("out")).durability == "light"
    with pytest.raises(SystemExit):
        p.parse_args(["bench", "--durability", "none"])


def test_every_process_a_run_or_bench_starts_is_told_its_durability(tmp_path: Path) -> None:
    """The services and the raw relays get --durability on their command line."""
    settings = Settings("payment", "orchestration", data_dir=tmp_path, durability="light")
    command = ServiceProcess(settings, tmp_path / "p.log").command()
    assert command[command.index("--durability") + 1] == "light"
    relay = RelayProcess(settings, tmp_path / "r.log", chain=CHAINS["orchestration"]).command()
    assert relay[relay.index("--durability") + 1] == "light"


def test_the_bench_figures_say_which_durability() -> None:
    assert Machine(cores=2, broker="RabbitMQ").durability == "strict"


def test_a_scenario_file_may_set_its_durability(tmp_path: Path) -> None:
    path = tmp_path / "light.toml"
    path.write_text('teaches = "x"\ndurability = "light"\n')
    assert load(path).durability == "light"
    path.write_text('teaches = "x"\n')
    assert load(path).durability is None


class _Delivery:
    """Enough of a delivery for the failure path: what a classic queue gives (no x-delivery-count)."""

    def __init__(self, message_id: str) -> None:
        self.queue, self.message_id, self.delivery_count, self.redelivered = "ns.payment", message_id, 0, True
        self.settled: list[str] = []

    async def retry_later(self) -> None:
        self.settled.append("requeue")

    async def dead_letter(self, error: str, reason: str) -> None:
        self.settled.append(f"dead-letter {error}: {reason}")


class _Relay:
    async def send(self, rows: Any) -> None:
        pass


def test_a_classic_queue_counts_no_deliveries_so_the_host_counts_failed_attempts_itself() -> None:
    """Under light a handler that keeps failing is still dead-lettered after the limit, not requeued forever."""
    failures = HandlerFailures(db=None, relay=_Relay(), unsafe=frozenset())  # type: ignore[arg-type]
    route = SimpleNamespace(on_error=None, step=None)
    queue = QueueSpec("payment", ())
    settled: list[str] = []
    for _ in range(DELIVERY_LIMIT + 1):
        delivery = _Delivery("m-1")  # each redelivery is a new delivery of the same message
        asyncio.run(failures.settle("payment", queue, None, route, RuntimeError("bug"), delivery, {}))  # type: ignore[arg-type]
        settled += delivery.settled
    assert settled[:DELIVERY_LIMIT] == ["requeue"] * DELIVERY_LIMIT
    assert settled[DELIVERY_LIMIT].startswith("dead-letter HandlerFailed: handler failed 6 times")
    assert not failures.failed  # forgotten once given up
