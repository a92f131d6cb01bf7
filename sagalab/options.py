"""A run's options (scenario, orders, faults, workflow, replicas, ...), each checked where it is read so a bad value
is a usage error (status 2); the broker, namespace, store and durability are ``common_options.py``'s."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestration.processes import WORKFLOWS
from sagalab.common_options import common_options, durability_option, store_option
from scenarios.fault_specs import BadFaultSpec
from scenarios.fault_specs import read as read_fault
from shared.config import UNSAFE_SWITCHES


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
