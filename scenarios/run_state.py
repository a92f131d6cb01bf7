"""One run of a scenario: its options, its state while it runs (what the runner, the fault injectors and the
assessment share), and the steps every runner takes with it: place the orders, drain the tap, keep the
definition."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from orchestration.bootstrap import default_definition_path
from scenarios.broker_control import BrokerControl
from scenarios.edge import Rejected
from scenarios.ledger import LedgerChoice
from scenarios.processes import Fleet
from scenarios.scenario import Scenario
from scenarios.topologies import coordinator
from scenarios.trace import MARKER_TYPE, Trace
from shared.config import Durability, Mode, default_durability, default_namespace
from shared.domain.contracts import Order, PlaceOrder
from shared.transport.broker import Broker, PublishFailed
from shared.transport.wire import Outgoing


@dataclass
class RunOptions:
    """What to run: the scenario, the mode, the broker and namespace, and the knobs the command line sets."""

    scenario: Scenario
    mode: Mode
    amqp_url: str
    out_dir: Path
    namespace: str = field(default_factory=default_namespace)
    orders: int | None = None
    seed: int = 7
    unsafe: frozenset[str] = frozenset()
    deadline_s: float | None = None
    service_options: dict[str, str] = field(default_factory=dict)
    """Options for the orchestrator (definition, resources, workflow)."""
    include_history: bool = False
    """Orchestration: put every execution's history in the result JSON (``extra.history``)."""
    own_users: bool = False
    """Give each service its own broker user (``scenarios/users.py``); the publisher check is then on."""
    attach: Path | None = None
    """Drive services that are already running (a compose stack) instead of starting them: see attach.py."""
    participants: dict[str, str] = field(default_factory=dict)
    """Built-in services the user replaced: service -> the command to start instead, or ``external`` (see
    participants.py)."""
    ledger: LedgerChoice = "store"
    """How the oracle reads the built-in services' effects: their files, or the ledger query (``query``)."""
    progress: Callable[[str], None] | None = None
    """Told what the run is doing (starting services, placing, settling with counts, judging), for a terminal."""
    store: str | None = None
    """A PostgreSQL URL to keep the services' databases in (a schema per service of this run), or None for SQLite
    files in the run folder."""
    run_token: str = field(default_factory=lambda: secrets.token_hex(3))
    """Part of every order id; a comparison gives both modes the same one, so the same order can be
    followed through both."""
    golden_action: Literal["check", "record"] = "check"
    """Compare the run's transcript with the scenario's golden one, or write it there (scenarios/golden.py)."""
    golden_file: Path | None = None
    """A golden file to use instead of the scenario's own."""
    instances: int = 1
    """Competing processes per service (replicas), the coordinator included; each sees the scenario's faults."""
    added_faults: tuple[str, ...] = ()
    """Faults the command line added to the scenario's own (``--fault``): a golden recorded without them does not
    apply."""
    durability: Durability | None = None
    """``strict`` or ``light`` from the command line (``--durability``); None: the scenario's own, else
    ``$SAGALAB_DURABILITY``, else strict."""


def durability_of(options: RunOptions) -> Durability:
    """The run's durability: the command line's, else the scenario's, else ``$SAGALAB_DURABILITY`` (strict)."""
    return options.durability or options.scenario.durability or default_durability()


@dataclass
class Run:
    """One run in progress: what the fault injectors and the runner share."""

    options: RunOptions
    broker: Broker
    fleet: Fleet
    trace: Trace
    orders: list[Order]
    stock: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    """Orders the scenario meant to place that the edge refused (out of bounds): never placed, but counted."""
    placed_at: dict[str, float] = field(default_factory=dict)
    injected: Counter[str] = field(default_factory=Counter)
    marks: dict[str, float] = field(default_factory=dict)
    """When a fault struck (epoch seconds), for what the result measures around it (``stall_s``)."""
    credentials: dict[str, str] = field(default_factory=dict)
    """Each service's own AMQP URL when the run gave the services users of their own (else empty)."""
    _control: BrokerControl | None = None

    @property
    def data_dir(self) -> Path:
        return self.options.out_dir / "data"

    @property
    def coordinator_db(self) -> Path:
        return self.data_dir / f"{coordinator(self.options.mode)}.db"

    def count(self, fault: str) -> None:
        self.injected[fault] += 1

    @property
    def publisher_check(self) -> bool:
        """Consumers check who published each message: services have their own users, and the check is not off.

        Attached to a running stack, the trace tells: every service message came from its service's own user."""
        if self.options.attach is not None:
            return self.trace.from_own_users(self.options.namespace)
        return bool(self.credentials) and "no-publisher-check" not in self.options.unsafe | self.options.scenario.unsafe

    def broker_control(self) -> BrokerControl:
        self._control = self._control or BrokerControl.require(self.options.amqp_url)
        return self._control


def keep_definition(options: RunOptions) -> None:
    """A copy of the definition an orchestration run used, for reports that draw its state graph."""
    if options.mode != "orchestration":
        return
    own = options.scenario.service_options.get("orchestrator", {}).get("definition")  # a scenario file's own
    source = Path(options.service_options.get("definition") or own or default_definition_path())
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "definition.asl.json").write_text(source.read_text())


async def place(run: Run, interval_s: float = 0.0) -> None:
    """Publish every order's PlaceOrder, as a client of the order service would (retrying while the
    broker is away)."""
    for i, order in enumerate(run.orders):
        if interval_s and i:
            await asyncio.sleep(interval_s)  # the scenario's pace of orders
        command = PlaceOrder(correlation_id=order.order_id, order=order)
        run.placed_at[order.order_id] = time.time()
        await publish_patiently(run.broker, Outgoing.command(command, "orders", reply_to=None))


async def publish_patiently(broker: Broker, out: Outgoing, give_up_s: float = 60.0) -> None:
    end = time.monotonic() + give_up_s
    while True:
        try:
            await broker.publish(out)
            return
        except PublishFailed:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)  # the broker is restarting; try again shortly


async def drain_tap(broker: Broker, trace: Trace, timeout_s: float = 10.0) -> None:
    """Publish a marker behind everything else; once the tap sees it, it has seen all that came before."""
    marker = secrets.token_hex(8)
    await broker.publish_raw(broker.topology.exchange("events"), "sagalab.tap-marker", b"{}",
                             type=MARKER_TYPE, message_id=marker)  # fmt: skip
    end = time.monotonic() + timeout_s
    while marker not in trace.marker_seen and time.monotonic() < end:
        await asyncio.sleep(0.01)  # polling the trace with a deadline
