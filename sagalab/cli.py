"""The ``sagalab`` command line.

Commands: ``scenarios`` (the catalogue; check or start scenario files), ``faults`` (every kind of fault), ``run``
(one scenario, by name or file, in one mode), ``compare`` (both modes side by side), ``chaos`` (random faults
under load), ``bench`` (throughput and latency against a raw relay chain), ``trace`` (one order's timelines), ``history`` (an execution's history), ``execute``
(one execution of any definition), ``serve`` (one service as a long-lived process), ``watch`` (the sagas in
flight in a namespace, live), ``schema`` (message schemas and AsyncAPI), ``users`` (a broker user per service),
``dead-letters`` (list, show, requeue), ``clean`` (remove a namespace), ``workshop`` (a vhost and user per
participant of a class).

Exit status: 0 the run matched its scenario's expectation, 1 it did not, 2 bad usage or input (a refused
login too), 3 the broker cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from orchestration.asl import DefinitionError
from orchestration.processes import WORKFLOWS
from sagalab import serve
from sagalab.amqp_option import amqp_url_option
from sagalab.bench.peer.options import add_peer_argument
from sagalab.bench.plan import add_arguments as bench_arguments
from sagalab.bench.relay import main as relay_main
from sagalab.common_options import common_options, namespace_type, store_option
from sagalab.dead_letters import add_arguments as dead_letter_arguments
from sagalab.dead_letters import dead_letters
from sagalab.exits import EXIT_NO_BROKER, EXIT_UNMET, EXIT_USAGE, UsageError
from sagalab.options import fault_option, instances_option, run_options
from sagalab.workshop import ManagementUnreachable
from sagalab.workshop import command as workshop_command
from scenarios.attach import CannotAttach
from scenarios.broker_control import BrokerControlUnavailable
from scenarios.fault_specs import BadFaultSpec
from scenarios.files.load import ScenarioFileError
from scenarios.participants import CannotReplace
from scenarios.processes import ServiceFailedToStart
from shared.config import (
    MODES,
    UnknownDurability,
    default_durability,
)
from shared.stores.postgres import PostgresUnavailable
from shared.transport.broker import (
    BrokerRefused,
    BrokerUnavailable,
    DurabilityClash,
    UnknownTransport,
    transport_from_env,
)
from shared.transport.failover import BadAmqpUrl


class _Help(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already says it or there is none to say."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _workshop_options(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", help="provision or teardown")
    for action, text in (("provision", "create each participant's vhost and user, print the sheet to hand out"),
                         ("teardown", "delete the workshop's vhosts (and everything in them) and users")):  # fmt: skip
        a = actions.add_parser(action, help=text)
        a.add_argument("--name", default="workshop", help="vhosts and users are NAME-01, NAME-02, ... (default: workshop)")
        if action == "provision":
            a.add_argument("--participants", type=int, required=True, metavar="N",
                           help="how many seats (1 to 999); re-running with more adds the missing ones")
            a.add_argument("--reset-passwords", action="store_true",
                           help="give participants who already exist a new password (default: keep theirs)")
            a.add_argument("--out", type=Path, metavar="FILE", help="also write the sheet: FILE.csv or FILE.md")
            a.add_argument("--host", help="broker host participants connect to (default: --amqp-url's)")
        amqp_url_option(a, "an administrator's credentials and the broker (default: $AMQP_URL or the local broker)")
        a.add_argument("--management-url", help="the management API (default: http://<--amqp-url host>:15672)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="sagalab", description="See, break and compare distributed transactions.",
                                  formatter_class=_Help)  # fmt: skip
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("scenarios", help="list the scenario catalogue; check scenario files; write a new one",
                       description="sagalab scenarios: list the catalogue. sagalab scenarios [check] FILE...: check "
                                   "scenario files without running them. sagalab scenarios new NAME [--out DIR]: "
                                   "write a commented scenario file to start from.")  # fmt: skip
    p.add_argument("words", nargs="*", metavar="check FILE... | new NAME", help="what to do (default: list)")
    p.add_argument("--out", type=Path, default=Path("."), help="new: the folder to write NAME.toml in (default: .)")
    p = sub.add_parser("faults", help="list every kind of fault, the anomaly it provokes and the defence that absorbs it")
    p.add_argument("--markdown", action="store_true", help="print the table of docs/faults.md instead")
    p = sub.add_parser("run", help="run one scenario in one mode")
    run_options(p)
    p.add_argument("--mode", required=True, choices=MODES, help="which way to run the saga")
    p.add_argument("--html", type=Path, help="also write a self-contained HTML report here")
    p = sub.add_parser("compare", help="run one scenario in both modes and show them side by side")
    run_options(p)
    p.add_argument("--html", type=Path, help="also write a self-contained HTML report here")
    p = sub.add_parser("clean", help="remove every exchange, queue and service database of a namespace")
    p.add_argument("--keep-data", action="store_true", help="leave $SAGALAB_HOME/serve/<namespace> alone")
    store_option(p, "the PostgreSQL whose schemas of the namespace to drop too")
    common_options(p)
    p = sub.add_parser("dead-letters", help="list a namespace's dead-lettered messages, show one, requeue them")
    dead_letter_arguments(p)
    common_options(p)
    p = sub.add_parser("users", help="give each service of a namespace its own broker user (needs rabbitmqctl)")
    p.add_argument("namespaces", nargs="*", type=namespace_type, metavar="NAMESPACE", help="namespaces to provision (default: --namespace)")
    p.add_argument("--remove", action="store_true", help="delete the namespace's service users instead")
    p.add_argument("--passwords-from-env", action="store_true",
                   help="each service's password from SAGALAB_PASSWORD_<SERVICE> instead of a random one")  # fmt: skip
    p.add_argument("--json", type=Path, help="also write {service: AMQP URL} here")
    common_options(p)
    _workshop_options(sub.add_parser("workshop", help="a class on one broker: a vhost, user and password per participant"))
    p = sub.add_parser("chaos", help="orders under random kills, a broker restart, duplicates and poison")
    p.add_argument("--mode", choices=(*MODES, "both"), default="both", help="one mode, or each in turn")
    p.add_argument("--orders", type=int, default=200, help="orders placed while the chaos lasts")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of chaos while the orders arrive")
    p.add_argument("--seed", type=int, default=7, help="seed of the orders and of when each fault strikes")
    p.add_argument("--kills-per-service", type=int, default=3, help="kill -9 and restarts of each service")
    p.add_argument("--broker-restarts", type=int, default=1, help="stops and starts of the broker's app; needs rabbitmqctl (see README)")
    p.add_argument("--duplicates", type=int, default=10, help="exact copies of saga messages (same message id)")
    p.add_argument("--fresh-duplicates", type=int, default=5,
                   help="copies published under a new message id, which only a business key recognises")
    p.add_argument("--poison", type=int, default=5, help="undecodable messages published onto saga queues")
    p.add_argument("--broken-compensations", type=int, default=1,
                   help="orders whose release fails for good: refunded anyway, parked naming the step")
    p.add_argument("--definition-changes", type=int, default=1,
                   help="orchestration: restarts of the orchestrator on an edited definition (states renamed)")
    p.add_argument("--forgeries", type=int, default=5,
                   help="forged copies of saga messages; each service then gets its own broker user (see README)")
    p.add_argument("--workflow", choices=WORKFLOWS, default="standard", help="orchestration: standard or express")
    instances_option(p)
    p.add_argument("--json", type=Path, help="write every mode's result JSON here")
    p.add_argument("--out", type=Path, help="folder for the runs (default: $SAGALAB_HOME/runs/...)")
    store_option(p)
    fault_option(p)
    common_options(p)
    p = sub.add_parser("watch", help="the sagas in flight in a namespace, live: step, what each waits for, how each ended")
    p.add_argument("--json", action="store_true", help="one JSON object per line per change, instead of the table")
    p.add_argument("--once", action="store_true",
                   help="stop as soon as every saga seen so far has ended (after at least one)")  # fmt: skip
    p.add_argument("--until-idle", type=float, metavar="SECONDS", help="stop when no message has come for this long")
    common_options(p)
    p = sub.add_parser("bench", help="sagas per second and latency per mode, against a raw relay chain in the same run")
    store_option(p)
    bench_arguments(p)
    add_peer_argument(p)
    common_options(p)
    serve.add_arguments(sub.add_parser("serve", help="run one service as a long-lived process"))
    p = sub.add_parser("execute", help="run one execution of a States Language definition against serving participants")
    p.add_argument("definition", type=Path, help="a States Language definition (JSON)")
    p.add_argument("--input", default="{}", help="the execution input, as JSON (default: {})")
    p.add_argument("--resources", help="resource map: a JSON file or object binding Task resources to participants")
    p.add_argument("--workflow", choices=WORKFLOWS, default="standard", help="standard (persisted) or express (in memory)")
    p.add_argument("--execution-id", help="default: a fresh one")
    p.add_argument("--timeout", type=float, help="seconds to wait (default: the definition's TimeoutSeconds + 5)")
    p.add_argument("--json", action="store_true", help="print the execution and its history as JSON")
    common_options(p)
    p = sub.add_parser("history", help="print an orchestrated order's execution history")
    p.add_argument("order_id", nargs="?", help="default: the first order of the newest orchestration run")
    p.add_argument("--run", type=Path, help="run folder (default: search $SAGALAB_HOME/runs, newest first)")
    p.add_argument("--json", action="store_true", help="print the raw GetExecutionHistory-shaped JSON")
    p = sub.add_parser("schema", help="write the JSON Schema of every message and an AsyncAPI document per mode")
    p.add_argument("--out", type=Path, default=Path("docs"),
                   help="folder for schemas/<Type>.schema.json and asyncapi/<mode>.json (default: docs)")
    p = sub.add_parser("trace", help="one order's timelines of a run or comparison, side by side")
    p.add_argument("folder", nargs="?", type=Path, help="a run or compare folder (default: the newest run)")
    p.add_argument("--order", help="the order to follow (default: the first compensated one, else the first)")
    p.add_argument("--html", type=Path, help="also write the HTML report of the folder, following this order")
    for command in sub.choices.values():
        command.formatter_class = _Help
    return top


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["raw-relay"]:  # hidden: one relay process of the bench's raw chain
        return relay_main(argv[1:])
    console = Console()
    try:
        default_durability()  # a bad SAGALAB_DURABILITY is refused before anything reads it
    except UnknownDurability as exc:
        _error(console, f"sagalab: {exc}")
        return EXIT_USAGE
    args = parser().parse_args(argv)
    if args.command != "serve":
        # The runner's own connection rides out broker restarts; the client libraries' reconnect
        # chatter would only clutter the table the user is waiting for.
        for noisy in ("aio_pika", "aiormq"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        transport_from_env()  # a bad SAGALAB_TRANSPORT is refused here, before any process starts
        return _dispatch(args, console)
    except (UsageError, CannotAttach, CannotReplace, BadFaultSpec, UnknownTransport, BadAmqpUrl,
            DurabilityClash) as exc:
        _error(console, f"sagalab: {exc}")
        return EXIT_USAGE
    except ScenarioFileError as exc:
        _error(console, f"sagalab: bad scenario file ({len(exc.problems)} problem(s)):")
        for where in exc.problems:
            console.print(f"  {where}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    except DefinitionError as exc:
        _error(console, "sagalab: invalid definition:")
        for problem in exc.problems:
            console.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    except ServiceFailedToStart as exc:
        _error(console, f"sagalab: a service did not start: {exc}")
        return EXIT_UNMET
    except BrokerControlUnavailable as exc:
        _error(console, f"sagalab: {exc}")
        return EXIT_USAGE
    except BrokerRefused as exc:  # the broker answered: the URL's user, password or vhost is wrong
        _error(console, f"sagalab: {exc}")
        return EXIT_USAGE
    except (BrokerUnavailable, ManagementUnreachable, PostgresUnavailable) as exc:
        _error(console, f"sagalab: {exc}")
        return EXIT_NO_BROKER
    except KeyboardInterrupt:
        return 130


def _error(console: Console, message: str) -> None:
    """An error as written: no markup read into it, and unwrapped, so it can be searched and copied whole."""
    console.print(message, style="red", highlight=False, markup=False, soft_wrap=True)


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    # Heavy and optional here: the commands load the lab (runner, reports, bench, rich tables), which a
    # service started with `sagalab serve` never uses; importing them only for the other commands keeps
    # every service (re)start about 130 ms shorter.
    from sagalab import catalogue_view, commands

    match args.command:
        case "scenarios":
            return catalogue_view.scenarios(args, console)
        case "faults":
            return catalogue_view.list_faults(console, markdown=args.markdown)
        case "run":
            return asyncio.run(commands.run_one(args, console))
        case "compare":
            return asyncio.run(commands.compare(args, console))
        case "serve":
            return serve.command(args)
        case "history":
            return commands.history(args, console)
        case "trace":
            return commands.trace(args, console)
        case "execute":
            return asyncio.run(commands.execute(args, console))
        case "chaos":
            return asyncio.run(commands.chaos(args, console))
        case "clean":
            return asyncio.run(commands.clean(args, console))
        case "dead-letters":
            return asyncio.run(dead_letters(args, console))
        case "watch":
            return asyncio.run(commands.watch(args, console))
        case "users":
            return asyncio.run(commands.users(args, console))
        case "workshop":
            return workshop_command(args, console)
        case "bench":
            return asyncio.run(commands.bench(args, console))
        case "schema":
            return commands.schema(args, console)
    raise UsageError(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
