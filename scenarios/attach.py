"""Running a scenario against services that are already running, as in the compose stack.

The runner then owns nothing but its client connection: it does not start, stop or reset anything.
For mode M the services serve in namespace ``<namespace>-M`` and keep their databases at
``<stack>/M/<service>/<service>.db`` (one volume each), with the ready file beside it. Every run uses
SKUs of its own (``KEYBOARD-<run token>``), so runs against the same long-lived stack never share stock,
and the oracle judges this run's orders and SKUs from a snapshot of each database taken once it settled.
Faults need a runner that owns the processes, so scenarios with faults are refused here.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from scenarios.assess import assess
from scenarios.oracle import judge
from scenarios.processes import Fleet
from scenarios.result import RunResult
from scenarios.run_state import Run, RunOptions, drain_tap, keep_definition, place
from scenarios.scenario import Need
from scenarios.settle import wait_settled
from scenarios.topologies import coordinator, queue_specs, services
from scenarios.trace import Trace
from shared.domain.contracts import Order
from shared.stores.business import INVENTORY_SCHEMA, stock_up
from shared.stores.read import snapshot
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.tap import tap
from shared.transport.topology import Topology


class CannotAttach(Exception):
    """The run cannot be driven against the stack as asked (the user's input is at fault: exit status 2)."""


def refuse_faults(options: RunOptions) -> None:
    """A stack the runner does not own takes no faults: no fault hooks, no defence switched off, no injector
    (whatever it needs: the processes, control of the broker, or only a namespace the runner may disturb)."""
    scenario, mode = options.scenario, options.mode
    if scenario.faults.get(mode) or scenario.injectors.get(mode) or scenario.unsafe or options.unsafe:
        needs = sorted({Need.PROCESSES.value} | {need.value for need in scenario.needs(mode)}, reverse=True)
        raise CannotAttach(f"{scenario.name} injects faults, which needs the runner to {' and '.join(needs)}; "
                           "run it without --attach")  # fmt: skip


async def wait_for_stack(stack: Path, mode: str, timeout_s: float = 120.0) -> None:
    """Every service of the mode has written its ready file (polled with a deadline)."""
    missing = [s for s in services(mode) if not (stack / s / f"{s}.ready").exists()]  # type: ignore[arg-type]
    end = time.monotonic() + timeout_s
    while missing and time.monotonic() < end:
        await asyncio.sleep(0.2)  # polling the services' ready files
        missing = [s for s in missing if not (stack / s / f"{s}.ready").exists()]
    if missing:
        raise CannotAttach(f"{mode} services not running under {stack}: {', '.join(missing)} "
                         f"(start them with `docker compose --profile {mode} up -d`)")  # fmt: skip


def _own_skus(orders: list[Order], stock: dict[str, int], token: str) -> tuple[list[Order], dict[str, int]]:
    rename = {sku: f"{sku}-{token}" for sku in stock} | {line.sku: f"{line.sku}-{token}" for o in orders
                                                         for line in o.lines}  # fmt: skip
    return ([o.with_skus(rename) for o in orders],
            {rename[sku]: level for sku, level in stock.items()})  # fmt: skip


def _snapshot(sources: dict[str, Path], into: Path) -> None:
    """Copy each service's database as it is now, for the oracle and the reports (every service of the stack
    is running, so each database must be there)."""
    into.mkdir(parents=True, exist_ok=True)
    for service, source in sources.items():
        snapshot(source, into / f"{service}.db")


async def run_attached(options: RunOptions) -> RunResult:
    assert options.attach is not None
    refuse_faults(options)
    mode, scenario = options.mode, options.scenario
    stack = options.attach / mode
    databases = {s: stack / s / f"{s}.db" for s in services(mode)}
    await wait_for_stack(stack, mode)
    admission = scenario.orders(options.orders, options.seed, options.run_token)
    orders, stock = _own_skus(admission.orders, scenario.stock_for(options.orders), options.run_token)
    inventory = Database(databases["inventory"], INVENTORY_SCHEMA)
    with inventory.transaction() as conn:
        stock_up(conn, stock)
    inventory.close()
    broker = await Broker.connect(options.amqp_url, Topology(options.namespace), "runner")
    tap_queue = f"{broker.topology.tap_queue}.{options.run_token}"
    try:
        trace = Trace(broker.topology, queue_specs(mode))
        await tap(broker, trace.observe, queue_name=tap_queue)
        current = Run(options, broker, Fleet(), trace, orders, stock=stock, rejected=admission.rejected)
        started = time.time()
        await place(current, scenario.place_interval_s)
        settled = await wait_settled(databases[coordinator(mode)], current.placed_at,
                                     options.deadline_s or scenario.deadline_s)  # fmt: skip
        duration = time.time() - started
        await drain_tap(broker, trace)
        options.out_dir.mkdir(parents=True, exist_ok=True)
        keep_definition(options)
        trace.save(options.out_dir / "trace.jsonl")
        _snapshot(databases, current.data_dir)
        verdict = judge(current.data_dir, current.coordinator_db, orders, skus=set(stock))
        result = assess(current, verdict, settled, duration)
        (options.out_dir / "result.json").write_text(result.model_dump_json(indent=2))
        return result
    finally:
        await broker.delete([tap_queue], [])
        await broker.close()
