"""The options several commands share: the broker and namespace, a run's options (scenario, orders, faults,
durability, store, replicas, ...), each checked where it is read so a bad value is a usage error (status 2)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from orchestration.executions import WORKFLOWS
from sagalab.amqp_option import amqp_url_option
from sagalab.clean import shared_with_parent
from scenarios.fault_specs import BadFaultSpec
from scenarios.fault_specs import read as read_fault
from shared.config import DURABILITIES, UNSAFE_SWITCHES, default_namespace, namespace_problem
from shared.stores.location import BadStore, parse_store


def namespace_type(value: str) -> str:
    """A namespace, checked here so that a bad one is a usage error (status 2), never a traceback."""
    if problem := namespace_problem(value):
        raise argparse.ArgumentTypeError(problem)
    if shared := shared_with_parent(value):
        raise argparse.ArgumentTypeError(f"{value!r} would share {shared} with the namespace it is nested in, and "
                                         "cleaning either would delete it; choose another name")  # fmt: skip
    return value


def fault_type(value: str) -> str:
    """A fault spec, read here so a bad one is a usage error naming what is wrong (status 2)."""
    try:
        read_fault(value)
    except BadFaultSpec as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def fault_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fault", action="append", type=fault_type, default=[], metavar="[MODE/]TARGET:KIND[:ARGS][@WHEN]",
                   help="add a fault to the scenario's own (repeatable), e.g. payment:crash:after-commit:ChargePayment "
                        "or broker:restart@PaymentCharged#5; `sagalab faults` lists every kind")  # fmt: skip


def durability_option(p: argparse.ArgumentParser) -> None:
    """``--durability strict|light``; its default is ``$SAGALAB_DURABILITY`` (checked in ``main``), else strict."""
    p.add_argument("--durability", choices=DURABILITIES, default=None,
                   help="strict: quorum queues and publisher confirms; light: classic durable queues, persistent "
                        "messages, no confirms (a broker crash can lose a publish the outbox marked sent; see README). "
                        "Default: the scenario's own (run, compare), else $SAGALAB_DURABILITY, else strict")  # fmt: skip


def store_type(value: str) -> str | None:
    """A ``--store``, read here so a bad one is a usage error (status 2)."""
    try:
        return parse_store(value)
    except BadStore as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def store_option(p: argparse.ArgumentParser, what: str = "where the services' databases live") -> None:
    p.add_argument("--store", type=store_type, default=os.environ.get("SAGALAB_STORE") or "sqlite",
                   metavar="sqlite|postgresql://...",
                   help=f"{what}: SQLite files (default) or a PostgreSQL server, a schema per service of "
                        "the namespace (default: $SAGALAB_STORE, else sqlite)")  # fmt: skip


def common_options(p: argparse.ArgumentParser) -> None:
    amqp_url_option(p, "default: $AMQP_URL or the local broker")
    p.add_argument("--namespace", type=namespace_type, default=default_namespace(),
                   help="prefix of every exchange, queue and database (default: $SAGALAB_NAMESPACE, else "
                        "sagalab-<user>; now %(default)s)")  # fmt: skip


def instances_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--instances", type=int, default=1, metavar="K",
                   help="competing processes per service, the orchestrator or order service included: any replica "
                        "takes any message, and each execution's steps are versioned so only one replica applies "
                        "each (see README, \"When one machine is not enough\")")  # fmt: skip


def run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="a name from `sagalab scenarios`, or a scenario file (FILE.toml)")
    instances_option(p)
    p.add_argument("--orders", type=int, help="how many orders to place (default: the scenario's own)")
    p.add_argument("--seed", type=int, default=7, help="seed of the scenario's random choices (default: 7)")
    p.add_argument("--json", type=Path, help="write the result JSON here")
    p.add_argument("--out", type=Path,
                   help="run folder: databases, logs, trace (default: $SAGALAB_HOME/runs/...; SAGALAB_HOME defaults "
                        "to .sagalab)")  # fmt: skip
    p.add_argument("--deadline", type=float, help="seconds to wait for every saga to settle")
    p.add_argument("--saga-deadline", type=float, metavar="S",
                   help="choreography: the order service reports (parks) a saga with no event for S seconds "
                        "(orchestration's whole-saga deadline is the definition's TimeoutSeconds: --definition)")  # fmt: skip
    p.add_argument("--unsafe", action="append", choices=UNSAFE_SWITCHES, default=[],
                   help="turn one defence off to watch what it prevents")  # fmt: skip
    p.add_argument("--definition", type=Path, help="orchestration: States Language definition (default: checkout)")
    p.add_argument("--resources", help="orchestration: resource map, a JSON file or object")
    p.add_argument("--workflow", choices=WORKFLOWS,
                   help="orchestration: standard (persist every step) or express (in memory, re-run on crash); "
                        "default: the scenario's own, else standard")  # fmt: skip
    p.add_argument("--history", action="store_true", help="orchestration: include each execution's history in the JSON")
    p.add_argument("--own-users", action="store_true",
                   help="give each service its own broker user (needs rabbitmqctl), so consumers check who published "
                        "each message")  # fmt: skip
    p.add_argument("--record-golden", action="store_true",
                   help="write this run's transcript as the scenario's golden one (for the modes that ran) instead "
                        "of comparing it; refused for a run that does not settle or meet its expectation")  # fmt: skip
    p.add_argument("--golden", type=Path, metavar="FILE",
                   help="the golden transcript file to compare with (or write), instead of the scenario's own")
    p.add_argument("--participant", action="append", default=[], metavar="SERVICE=COMMAND",
                   help="bring your own participant: start COMMAND (any language, speaking docs/participant-"
                        "protocol.md) instead of the built-in payment, inventory or shipping; SERVICE=external "
                        "waits for one you run yourself. Repeatable")  # fmt: skip
    durability_option(p)
    p.add_argument("--ledger", choices=("store", "query"), default="store",
                   help="how the oracle reads the built-in services' effects: their databases (default) or the "
                        "protocol's ledger query; a participant you bring is always queried")  # fmt: skip
    p.add_argument("--attach", type=Path, metavar="STACK",
                   help="drive services already running (the compose stack) instead of starting them: mode M "
                        "serves in namespace <namespace>-M with databases under STACK/M/<service>/")  # fmt: skip
    fault_option(p)
    store_option(p)
    common_options(p)
