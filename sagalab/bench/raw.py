"""The bar: a mode's raw chain, relay processes at the sagas' durability, measured by the same driver as the sagas."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from sagalab.bench.driver import SettledRows
from sagalab.bench.measure import figures, measure, ready_within_s
from sagalab.bench.plan import BenchOptions
from sagalab.bench.relay import CHAINS, RelayProcess
from sagalab.bench.result import RunFigures, Verdict
from scenarios.processes import Fleet
from shared.config import Mode, Settings
from shared.domain.contracts import Order, PlaceOrder
from shared.transport import raw_chain
from shared.transport.topology import Topology
from shared.transport.wire import encode


def relay_fleet(opts: BenchOptions, chain: raw_chain.Chain, folder_name: str) -> Fleet:
    """K relay processes per role of the chain (competing consumers of the role's queue)."""
    out = opts.out_dir.resolve() / folder_name
    shutil.rmtree(out, ignore_errors=True)
    (out / "logs").mkdir(parents=True)
    (out / "data").mkdir()
    fleet = Fleet()
    for role in chain.roles:
        for i in range(opts.instances):
            settings = Settings(service=role, mode="choreography", amqp_url=opts.amqp_url,
                                namespace=opts.namespace, data_dir=out / "data", instance=i,
                                durability=opts.durability)  # fmt: skip
            name = f"{role}.{i}" if i else role
            fleet.processes.append(RelayProcess(settings, out / "logs" / f"{name}.log", chain=chain,
                                                prefetch=opts.prefetch))  # fmt: skip
    return fleet


async def run_raw(opts: BenchOptions, mode: Mode, orders: list[Order], on_settled: Callable[[int], None]) -> RunFigures:
    """Relay every order along the mode's happy-path route and record it at the end, as the saga would."""
    chain = CHAINS[mode]
    topology = Topology(opts.namespace, durability=opts.durability)
    folder = f"raw-{mode}"
    await raw_chain.declare(opts.amqp_url, topology, chain)
    fleet = relay_fleet(opts, chain, folder)
    bodies = {o.order_id: encode(PlaceOrder(correlation_id=o.order_id, order=o)) for o in orders}
    placer: raw_chain.Placer | None = None
    try:
        await fleet.start()
        await fleet.wait_ready(ready_within_s(fleet))
        placer = await raw_chain.Placer.connect(opts.amqp_url, topology, chain)
        place = placer.place
        feed = SettledRows(opts.out_dir.resolve() / folder / "data" / f"raw-{chain.name}.db")
        run, cpu = await measure(fleet, list(bodies), lambda oid: place(oid, bodies[oid]), feed, opts.concurrency,
                                 opts.drive_deadline_s, on_settled, amqp_url=opts.amqp_url)  # fmt: skip
        await fleet.stop()
    finally:
        if placer is not None:
            await placer.close()
        await fleet.kill_all()
        await raw_chain.delete(opts.amqp_url, topology, chain)
    settled = len(run.settled_at)
    verdict = Verdict(ok=run.complete, completed=settled, stuck=run.total - settled)
    return figures("raw", mode, chain.hops, opts.concurrency, opts.instances, run, cpu, verdict,
                   {"relayed": chain.hops * settled}, str(opts.out_dir.resolve() / folder))  # fmt: skip
