"""``sagalab serve``: run one service as its own long-lived process until SIGTERM or SIGINT; its options, and
``python -m sagalab.serve``, the light entry the runner starts services with."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import structlog

from orchestration.processes import WORKFLOWS
from sagalab.common_options import common_options, durability_option, store_option
from sagalab.exits import EXIT_NO_BROKER, EXIT_OK, EXIT_USAGE, UsageError
from sagalab.parent import exit_with_parent
from scenarios.topologies import wiring
from shared import logging as sagalab_logging
from shared.config import MODES, UNSAFE_SWITCHES, Mode, Settings, UnknownDurability, default_durability, sagalab_home
from shared.runtime.faults import FaultSpecError, parse
from shared.runtime.handlers import DOMAIN_SERVICES
from shared.runtime.host import ServiceHost
from shared.runtime.ledger_query import answering_ledger_queries
from shared.runtime.loop import run as run_loop
from shared.runtime.publishers import PublisherCheck
from shared.stores.location import pin, pinned
from shared.stores.postgres import PostgresUnavailable
from shared.transport.broker import (
    Broker,
    BrokerRefused,
    BrokerUnavailable,
    DurabilityClash,
    UnknownTransport,
    safe_url,
    transport_from_env,
)
from shared.transport.failover import BadAmqpUrl

log = structlog.get_logger()


def ready_file(settings: Settings) -> os.PathLike[str]:
    suffix = f".{settings.instance}" if settings.instance else ""
    return settings.data_dir / f"{settings.service}{suffix}.ready"


async def build_host(settings: Settings, broker: Broker) -> ServiceHost:
    """The service's host, built by its mode's wiring, with the publisher check the service's settings ask for."""
    host = wiring(settings.mode).build(settings, broker)
    host.publishers = PublisherCheck.for_service(settings)
    if settings.service in DOMAIN_SERVICES:  # the oracle may ask any participant for its effects
        host.background = (*host.background, answering_ledger_queries(settings.service, settings.database_path(), broker))
    return host


async def connect_patiently(settings: Settings, wait_s: float) -> Broker:
    """Reach the broker, retrying for up to ``wait_s`` (a container starting beside its broker waits for it
    instead of crashing); then BrokerUnavailable as usual."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await Broker.connect(settings.amqp_url, settings.topology(), settings.service)
        except BrokerUnavailable:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for the broker", amqp_url=safe_url(settings.amqp_url))
            await asyncio.sleep(2.0)  # the broker is still starting


async def serve(settings: Settings, wait_for_broker_s: float = 0.0) -> None:
    sagalab_logging.configure(service=settings.service, mode=settings.mode, pid=os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = await connect_patiently(settings, wait_for_broker_s)
    host = await build_host(settings, broker)
    try:
        await host.start()
        ready = ready_file(settings)
        with open(ready, "w") as f:
            f.write(str(os.getpid()))
        log.info("ready", namespace=settings.namespace, unsafe=sorted(settings.unsafe), user=broker.user,
                 durability=settings.durability,
                 publisher_check=host.publishers.enabled)  # fmt: skip
        await stop.wait()
        log.info("stopping")
        await host.stop()
    finally:
        await broker.close()
        host.db.close()
    log.info("stopped")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``sagalab serve`` (and of ``python -m sagalab.serve``, which reads the same)."""
    p.add_argument("service", help="payment, inventory, shipping, or the mode's coordinator (orders, orchestrator)")
    p.add_argument("--mode", required=True, choices=MODES, help="which way the saga runs")
    p.add_argument("--data-dir", type=Path, help="where its database lives (default: $SAGALAB_HOME/serve/<namespace>)")
    p.add_argument("--wait-for-broker", type=float, default=0.0, metavar="S",
                   help="keep trying to reach the broker for S seconds before giving up (containers)")  # fmt: skip
    p.add_argument("--instance", type=int, default=0, help="which of several competing processes of the service")
    p.add_argument("--unsafe", action="append", choices=UNSAFE_SWITCHES, default=[],
                   help="turn one defence off to watch what it prevents")  # fmt: skip
    p.add_argument("--fault", action="append", default=[], help="a fault hook a scenario configures")
    p.add_argument("--definition", help="orchestrator: States Language definition")
    p.add_argument("--resources", help="orchestrator: resource map")
    p.add_argument("--workflow", choices=WORKFLOWS, default="standard", help="orchestrator: standard or express")
    p.add_argument("--saga-deadline", type=float, help="choreography order service: report sagas idle this long")
    p.add_argument("--replicas", type=int, help="how many competing processes of the service run (default: 1; an "
                   "Express orchestrator then keeps its executions in the shared database)")  # fmt: skip
    store_option(p, "where its database lives")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="stop when stdin closes (the runner starts its services so; they then die with it)")  # fmt: skip
    durability_option(p)
    common_options(p)


def command(args: argparse.Namespace) -> int:
    """Check the options, then serve until stopped; UsageError for a bad one."""
    mode: Mode = args.mode
    known = wiring(mode).servable
    if args.service not in known:
        raise UsageError(f"no service {args.service!r} in {mode}; choose one of {', '.join(known)}")
    for spec in args.fault:
        try:
            parse(spec)
        except FaultSpecError as exc:
            raise UsageError(str(exc)) from None
    options = {k: str(v) for k in ("definition", "resources", "workflow", "saga_deadline", "replicas")
               if (v := getattr(args, k))}  # fmt: skip
    if args.replicas is not None and args.replicas < 1:
        raise UsageError("--replicas must be at least 1")
    settings = Settings(
        service=args.service, mode=mode, amqp_url=args.amqp_url, namespace=args.namespace,
        data_dir=args.data_dir or sagalab_home() / "serve" / args.namespace, unsafe=frozenset(args.unsafe),
        faults=tuple(args.fault), instance=args.instance, options=options,
        durability=args.durability or default_durability(),
    )  # fmt: skip
    if args.store is not None and pinned(settings.data_dir) is None:  # a run's folder is pinned by its runner
        pin(settings.data_dir, args.store, args.namespace)
    if args.exit_with_parent:
        exit_with_parent()
    run_loop(serve(settings, wait_for_broker_s=args.wait_for_broker))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sagalab.serve SERVICE ...``: ``sagalab serve`` without loading the rest of the command line (the
    lab, the reports, the bench), which is how the runner starts every service: about half a second less CPU at
    each start. The same options, exit statuses and messages."""
    parser = argparse.ArgumentParser(prog="sagalab serve", description="Run one service as a long-lived process.")
    add_arguments(parser)
    try:
        default_durability()  # a bad SAGALAB_DURABILITY is refused before anything reads it
        args = parser.parse_args(argv)
        transport_from_env()
        return command(args)
    except (UsageError, UnknownDurability, UnknownTransport, BadAmqpUrl, DurabilityClash, BrokerRefused) as exc:
        print(f"sagalab: {exc}")
        return EXIT_USAGE
    except (BrokerUnavailable, PostgresUnavailable) as exc:
        print(f"sagalab: {exc}")
        return EXIT_NO_BROKER
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
