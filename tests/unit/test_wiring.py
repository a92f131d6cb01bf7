"""Each mode's wiring is declared once (``scenarios.topologies.WIRING_OF``): its services, coordinator and queues, and
the hosts ``sagalab serve`` builds through it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from choreography.wiring import CHOREOGRAPHY
from orchestration.wiring import ORCHESTRATION
from sagalab import serve
from scenarios import topologies
from scenarios.topologies import WIRING_OF, coordinator, queue_specs, services, wiring, wirings
from shared.config import MODES, Mode, Settings
from shared.runtime.host import ServiceHost
from shared.transport.broker import Broker

BROKER: Any = object()
"""Building a host does no I/O: nothing is called on the broker until the host starts."""


def test_every_mode_has_exactly_one_wiring_that_names_it() -> None:
    """The mapping covers every mode, and each wiring says which mode it is."""
    assert set(WIRING_OF) == set(MODES)
    assert [each.mode for each in wirings()] == list(MODES)
    assert (wiring("choreography"), wiring("orchestration")) == (CHOREOGRAPHY, ORCHESTRATION)


def test_each_wiring_lists_its_services_coordinator_and_queues() -> None:
    """Choreography runs the order service and the participants; orchestration the orchestrator and the same
    participants (plus ``lambdas`` on demand); the coordinator is one of the run's services."""
    assert services("choreography") == ("orders", "payment", "inventory", "shipping")
    assert services("orchestration") == ("orchestrator", "payment", "inventory", "shipping")
    assert ORCHESTRATION.servable == (*services("orchestration"), "lambdas")
    assert CHOREOGRAPHY.servable == services("choreography")
    for mode in MODES:
        assert coordinator(mode) in services(mode)
        owners = {spec.service for spec in queue_specs(mode)}
        assert {s for s in services(mode) if s != "orchestrator"} <= owners
    assert {"orders"} <= {s.service for s in queue_specs("choreography")}
    assert {"orchestrator", "notifications"} <= {s.service for s in queue_specs("orchestration")}


@pytest.mark.parametrize("mode", MODES)
async def test_serve_builds_every_service_of_a_mode_through_its_wiring(mode: Mode, tmp_path: Path) -> None:
    """Each service the wiring lists becomes a host of that name whose queues are among the mode's queues."""
    declared = {(spec.service, spec.suffix) for spec in queue_specs(mode)}
    for service in services(mode):
        host = await serve.build_host(Settings(service=service, mode=mode, data_dir=tmp_path), BROKER)
        try:
            assert isinstance(host, ServiceHost) and host.service == service
            assert {(sub.queue.service, sub.queue.suffix) for sub in host.subscriptions} <= declared
        finally:
            host.db.close()


@dataclass
class _Built:
    service: str
    publishers: Any = None


class _StubWiring:
    """A wiring that records what it was asked to build."""

    mode: Mode = "choreography"
    services = ("solo",)
    coordinator = "solo"
    servable = ("solo",)

    def __init__(self) -> None:
        self.built: list[str] = []

    def queue_specs(self) -> list[Any]:
        return []

    def build(self, settings: Settings, broker: Broker) -> Any:
        self.built.append(settings.service)
        return _Built(settings.service)


STUB = _StubWiring()


async def test_serve_asks_the_declared_wiring_and_nothing_else(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Swap the mapping's entry and serve builds with the new wiring: no mode is picked by an ``if``."""
    monkeypatch.setattr(topologies, "WIRING_OF", {**WIRING_OF, "choreography": f"{__name__}:STUB"})
    stub = STUB
    stub.built.clear()
    host = await serve.build_host(Settings(service="solo", mode="choreography", data_dir=tmp_path), BROKER)
    assert stub.built == ["solo"] and host.service == "solo" and host.publishers is not None


def test_a_participants_process_loads_neither_the_other_mode_nor_the_interpreter() -> None:
    """What `sagalab serve` imports for a participant: its own mode's wiring and no States Language interpreter,
    which is a third of a second of start-up that a run pays at every (re)start of every participant."""
    script = ("import sys; from pathlib import Path; from shared.config import Settings; from sagalab import serve; "
              "from scenarios.topologies import wiring; "
              "wiring('orchestration').build(Settings(service='payment', mode='orchestration', data_dir=Path(sys.argv[1])), None); "
              "print(' '.join(m for m in ('orchestration.asl', 'orchestration.orchestrator', 'choreography.wiring', "
              "'scenarios.runner', 'sagalab.cli') if m in sys.modules))")  # fmt: skip
    with tempfile.TemporaryDirectory() as data_dir:
        loaded = subprocess.run([sys.executable, "-c", script, data_dir], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
