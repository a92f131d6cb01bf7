"""What each ``sagalab`` subcommand does, apart from parsing its options."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from orchestration.bootstrap import load_machine
from orchestration.execute import execute as run_execution
from orchestration.histories import find_definition, find_history, find_pruned, first_execution
from orchestration.resources import ResourceMap
from sagalab.asyncapi import write_documents
from sagalab.bench.command import bench as run_bench
from sagalab.clean import clean as clean_namespace
from sagalab.compare import render
from sagalab.exits import EXIT_OK, EXIT_UNMET, UsageError
from sagalab.golden_view import show_golden
from sagalab.history_view import pruned_message, render_history
from sagalab.report.html import write_report
from sagalab.report.runs import newest_folder
from sagalab.run_folders import run_dir, runs_dir
from sagalab.schemas import write_schemas
from sagalab.trace_view import show
from sagalab.watch.command import watch as watch_namespace
from scenarios import golden, runner
from scenarios import users as service_users
from scenarios.attach import refuse_faults
from scenarios.broker_control import BrokerControl
from scenarios.catalogue import SCENARIOS
from scenarios.chaos import ChaosPlan, chaos_scenario
from scenarios.fault_specs import read_all, with_faults
from scenarios.files.load import load as load_file
from scenarios.participants import EXTERNAL, parse_participants, refuse_faults_on
from scenarios.result import CompareResult, RunResult
from scenarios.scenario import Scenario
from shared.config import MODES, Mode, sagalab_home
from shared.domain.contracts import MAX_DOCUMENT_BYTES
from shared.stores.postgres import drop_namespace
from shared.stores.read import StoreSchemaError


def _scenario(text: str) -> Scenario:
    """A catalogue scenario by name, or a scenario file by path (one ending in .toml, or any file there is)."""
    path = Path(text)
    if text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise UsageError(f"no scenario file {text}")
        return load_file(path)
    if text not in SCENARIOS:
        close = difflib.get_close_matches(text, list(SCENARIOS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown scenario {text!r}{hint}; `sagalab scenarios` lists: {', '.join(SCENARIOS)}; "
                         "or give a scenario file (FILE.toml)")  # fmt: skip
    return SCENARIOS[text]


def _with_saga_deadline(scenario: Scenario, seconds: float | None) -> Scenario:
    """The scenario with choreography's whole-saga deadline (the order service's watcher) set to ``seconds``."""
    if seconds is None:
        return scenario
    if seconds <= 0:
        raise UsageError("--saga-deadline must be a positive number of seconds")
    orders = {**scenario.service_options.get("orders", {}), "saga_deadline": str(seconds)}
    return replace(scenario, service_options={**scenario.service_options, "orders": orders})


def _instances(args: argparse.Namespace) -> int:
    if args.instances < 1:
        raise UsageError("--instances must be at least 1")
    return int(args.instances)


def _options(args: argparse.Namespace, scenario: Scenario, mode: Mode, out_dir: Path,
             run_token: str | None = None) -> runner.RunOptions:  # fmt: skip
    if args.orders is not None and args.orders < 1:
        raise UsageError("--orders must be at least 1")
    if args.deadline is not None and not args.deadline > 0:  # also refuses nan
        raise UsageError("--deadline must be a positive number of seconds")
    if args.definition is not None and not args.definition.exists():
        raise UsageError(f"no definition file {args.definition}")
    instances = _instances(args)
    service_options = {k: str(v) for k in ("definition", "resources", "workflow") if (v := getattr(args, k, None))}
    if mode == "orchestration":
        _check_definition(args)
    extra: dict[str, Any] = {"run_token": run_token} if run_token else {}
    namespace = args.namespace
    participants = parse_participants(args.participant)
    if args.attach is not None:
        if args.own_users:
            raise UsageError("--own-users provisions the services a run starts; an attached stack brings its own")
        if participants or args.ledger != "store":
            raise UsageError("--participant and --ledger need a run that starts its services; an attached stack "
                             "runs its own")  # fmt: skip
        extra["attach"] = args.attach.resolve()
        if instances > 1:
            raise UsageError("--instances starts replicas of the services a run starts; an attached stack runs its own")
        namespace = f"{args.namespace}-{mode}"  # the stack runs each mode's services in a namespace of its own
    options = runner.RunOptions(
        scenario=_with_saga_deadline(with_faults(scenario, read_all(args.fault)), getattr(args, "saga_deadline", None)),
        mode=mode, amqp_url=args.amqp_url, out_dir=out_dir.resolve(),
        namespace=namespace, orders=args.orders, seed=args.seed, unsafe=frozenset(args.unsafe),
        deadline_s=args.deadline, service_options=service_options, include_history=args.history,
        own_users=args.own_users, participants=participants, ledger=args.ledger,
        golden_action="record" if args.record_golden else "check",
        golden_file=args.golden.resolve() if args.golden else None, added_faults=tuple(args.fault),
        durability=args.durability, instances=instances, store=getattr(args, "store", None), **extra,
    )  # fmt: skip
    if options.attach is not None:
        refuse_faults(options)
        if args.record_golden:
            raise UsageError("--record-golden records a run the runner owns; run it without --attach")
    refuse_faults_on(options.scenario, mode, participants)
    try:
        golden.load(options.golden_file or golden.golden_path(options.scenario))
    except golden.GoldenFileError as exc:
        raise UsageError(str(exc)) from None
    return options


def _check_definition(args: argparse.Namespace) -> None:
    """Refuse a bad definition or resource map here, with every problem listed, rather than as a service
    that dies on start (raises DefinitionError, which the CLI turns into exit status 2)."""
    try:
        resources = ResourceMap.load(getattr(args, "resources", None))
    except (ValueError, OSError) as exc:
        raise UsageError(f"bad --resources: {exc}") from None
    load_machine(getattr(args, "definition", None), resources)


@contextmanager
def _kept_if_used(folder: Path) -> Iterator[Path]:
    """A run folder that is removed again if the run fails before writing anything in it (no broker, say)."""
    try:
        yield folder
    except BaseException:
        with suppress(OSError):  # not empty: what the run left there helps explain the failure
            folder.rmdir()
        raise


async def _run_showing_progress(options: runner.RunOptions, label: str, console: Console) -> RunResult:
    """Run, with a status line that says the phase and, while sagas run, how many ended and the time left."""
    with console.status(f"{label}: starting…") as status:
        return await runner.run(replace(options, progress=lambda text: status.update(f"{label}: {escape(text)}")))


async def run_one(args: argparse.Namespace, console: Console) -> int:
    scenario = _scenario(args.scenario)
    _options(args, scenario, args.mode, Path("not-created"))  # every option checked before anything is created
    with _kept_if_used(args.out or run_dir(scenario.name, args.mode, args.namespace)) as folder:
        options = _options(args, scenario, args.mode, folder)
        result = await _run_showing_progress(options, f"{scenario.name} · {args.mode}", console)
    render([result], console)
    show_golden(result, console)
    console.print(f"run folder: {result.run_dir}", highlight=False, soft_wrap=True)
    if args.json:
        args.json.write_text(result.model_dump_json(indent=2))
    if args.html:
        _write_html(options.out_dir, args.html, None, console)
    return EXIT_OK if result.expectation_met else EXIT_UNMET


async def compare(args: argparse.Namespace, console: Console) -> int:
    scenario = _scenario(args.scenario)
    for mode in MODES:  # every option checked for both modes before anything is created or run
        _options(args, scenario, mode, Path("not-created"))
    with _kept_if_used(args.out or run_dir(scenario.name, "compare", args.namespace)) as base:
        return await _compare(args, scenario, base, console)


async def _compare(args: argparse.Namespace, scenario: Scenario, base: Path, console: Console) -> int:
    results: dict[str, RunResult] = {}
    token = secrets.token_hex(3)
    for mode in ("choreography", "orchestration"):
        if EXTERNAL in parse_participants(args.participant).values():
            token = secrets.token_hex(3)  # one store serves both modes: the same order ids would meet its barrier
        options = _options(args, scenario, mode, base / mode, run_token=token)
        results[mode] = await _run_showing_progress(options, f"{scenario.name} · {mode}", console)
    render(list(results.values()), console)
    for result in results.values():
        show_golden(result, console)
    console.print(f"run folder: {base.resolve()}", highlight=False, soft_wrap=True)
    both = CompareResult(scenario=scenario.name, **results)
    (base / "compare.json").write_text(both.model_dump_json(indent=2))
    if args.json:
        args.json.write_text(both.model_dump_json(indent=2))
    if args.html:
        _write_html(base, args.html, None, console)
    return EXIT_OK if all(r.expectation_met for r in results.values()) else EXIT_UNMET


def history(args: argparse.Namespace, console: Console) -> int:
    try:
        return _history(args, console)
    except StoreSchemaError as exc:  # a file given as a run's database that is not an orchestrator's
        raise UsageError(str(exc)) from None


def _history(args: argparse.Namespace, console: Console) -> int:
    if args.run:  # a run folder, a compare folder, its data folder or the database itself
        folders = [args.run / "data", args.run / "orchestration" / "data", args.run]
    else:
        folders = sorted(runs_dir().glob("**/data"), reverse=True)  # folder names start with the time
    order_id = args.order_id
    if order_id is None:
        found = first_execution(folders)
        if found is None:
            raise UsageError("no orchestrated execution found: run a scenario in orchestration mode first "
                             "(or pass --run RUN_FOLDER)")  # fmt: skip
        order_id, where = found
        if not args.json:
            console.print(f"execution {order_id} · {where}", highlight=False, soft_wrap=True)
    events = find_history(order_id, folders)
    if events is None:
        pruned = find_pruned(order_id, folders)
        raise UsageError(pruned_message(order_id, *pruned[0]) if pruned else
                         f"no orchestrated execution {order_id!r} found (pass --run RUN_FOLDER)")  # fmt: skip
    definition = find_definition(order_id, folders)
    if args.json:
        console.print_json(json.dumps({"definition": definition, "events": events}))
    else:
        if definition is not None:
            console.print(f"definition {definition['name']} {definition['digest'][:19]} (pinned when the execution "
                          "started)", highlight=False, soft_wrap=True)  # fmt: skip
        render_history(events, console)
    return EXIT_OK


async def execute(args: argparse.Namespace, console: Console) -> int:
    if not args.definition.exists():
        raise UsageError(f"no definition file {args.definition}")
    try:
        document = json.loads(args.input)
        resources = ResourceMap.load(args.resources)
    except (ValueError, OSError) as exc:
        raise UsageError(f"bad --input or --resources: {exc}") from None
    if len(args.input.encode()) > MAX_DOCUMENT_BYTES:
        raise UsageError(f"--input is {len(args.input.encode())} bytes; an execution's input is at most "
                         f"{MAX_DOCUMENT_BYTES}")  # fmt: skip
    with console.status(f"executing {args.definition.name}…"):
        outcome = await run_execution(args.definition, document, resources, args.amqp_url, args.namespace,
                                      args.workflow, args.execution_id, args.timeout)  # fmt: skip
    execution = outcome.execution
    if args.json:
        console.print_json(json.dumps({"execution": execution.model_dump(mode="json") if execution else None,
                                       "events": outcome.history}))  # fmt: skip
    else:
        if outcome.history:
            render_history(outcome.history, console)
        status = execution.status if execution else "NOT STARTED"
        detail = execution.error or "" if execution else ""
        console.print(f"{status} {detail}".strip(), style="green" if status == "SUCCEEDED" else "red")
        if execution is not None and execution.status == "SUCCEEDED":
            console.print_json(json.dumps(execution.output))
    return EXIT_OK if execution is not None and execution.status == "SUCCEEDED" else EXIT_UNMET


def trace(args: argparse.Namespace, console: Console) -> int:
    folder = args.folder or newest_folder(runs_dir())
    order_id = show(folder, args.order, console)
    if args.html:
        _write_html(folder, args.html, order_id, console)
    return EXIT_OK


def _write_html(folder: Path, out: Path, order_id: str | None, console: Console) -> None:
    console.print(f"report: {write_report(folder, out, order_id).resolve()}", highlight=False, soft_wrap=True)


def schema(args: argparse.Namespace, console: Console) -> int:
    schemas, documents = write_schemas(args.out / "schemas"), write_documents(args.out / "asyncapi")
    console.print(f"wrote {len(schemas)} message schemas to {args.out / 'schemas'} and {len(documents)} AsyncAPI "
                  f"documents to {args.out / 'asyncapi'}", highlight=False)  # fmt: skip
    return EXIT_OK


async def chaos(args: argparse.Namespace, console: Console) -> int:
    if args.orders < 1 or args.duration <= 0:
        raise UsageError("--orders must be at least 1 and --duration positive")
    plan = ChaosPlan(duration_s=args.duration, kills_per_service=args.kills_per_service,
                     broker_restarts=args.broker_restarts, duplicates=args.duplicates,
                     fresh_duplicates=args.fresh_duplicates, poison=args.poison, forgeries=args.forgeries,
                     definition_changes=args.definition_changes, broken_compensations=args.broken_compensations,
                     seed=args.seed)  # fmt: skip
    instances = _instances(args)
    if plan.broker_restarts:
        BrokerControl.require(args.amqp_url)
    scenario = with_faults(chaos_scenario(args.orders, plan, order_seed=args.seed), read_all(args.fault))
    modes: list[Mode] = ["choreography", "orchestration"] if args.mode == "both" else [args.mode]
    base = args.out or run_dir("chaos", args.mode, args.namespace)
    results = []
    for mode in modes:
        options = runner.RunOptions(scenario=scenario, mode=mode, amqp_url=args.amqp_url, out_dir=(base / mode).resolve(),
                                    namespace=args.namespace, orders=args.orders, seed=args.seed,
                                    service_options={"workflow": args.workflow}, instances=instances,
                                    store=args.store)  # fmt: skip
        results.append(await _run_showing_progress(options, f"chaos · {mode} · {args.duration:.0f} s of faults",
                                                   console))  # fmt: skip
    render(results, console)
    for r in results:
        extra = r.extra
        console.print(f"[bold]{r.mode}[/]: faults {extra['faults_injected']}, restarts {extra['restarts']}, replicas {extra.get('replicas', {})}, "
                      f"redelivered {extra.get('redelivered', 0)}, duplicates dropped {extra.get('duplicates dropped', 0)}, "
                      f"watcher alerts {len(extra.get('alerts', []))}", highlight=False)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps([r.model_dump(mode="json") for r in results], indent=2))
    return EXIT_OK if all(r.expectation_met for r in results) else EXIT_UNMET


async def bench(args: argparse.Namespace, console: Console) -> int:
    return await run_bench(args, console)


async def users(args: argparse.Namespace, console: Console) -> int:
    namespaces = args.namespaces or [args.namespace]
    try:
        passwords = service_users.passwords_from_env(os.environ) if args.passwords_from_env else None
    except ValueError as exc:
        raise UsageError(f"--passwords-from-env: {exc}") from None
    admin = service_users.require_admin(args.amqp_url)
    every: dict[str, dict[str, str]] = {}
    for namespace in namespaces:
        if args.remove:
            removed = await service_users.remove(admin, namespace)
            console.print(f"namespace {namespace}: deleted {len(removed)} service user(s)", highlight=False)
            continue
        every[namespace] = urls = await service_users.provision(admin, args.amqp_url, namespace, passwords=passwords)
        console.print(f"namespace {namespace}: one broker user per service; start each service with its URL "
                      "(AMQP_URL=... sagalab serve SERVICE) and its consumers check who published each message. "
                      "`sagalab clean` deletes these users.", highlight=False, soft_wrap=True)  # fmt: skip
        for service, url in urls.items():
            console.print(f"{service:<13} {url}", highlight=False, markup=False, soft_wrap=True)
    if args.json and every:
        args.json.write_text(json.dumps(every[namespaces[0]] if len(every) == 1 else every, indent=2))
    return EXIT_OK


async def clean(args: argparse.Namespace, console: Console) -> int:
    removed = await clean_namespace(args.amqp_url, args.namespace,
                                    Path("/nonexistent") if args.keep_data else sagalab_home() / "serve")  # fmt: skip
    console.print(f"namespace {args.namespace}: deleted {removed['queues']} queue(s), {removed['exchanges']} "
                  f"exchange(s) and {removed['data folders']} service data folder(s)"
                  + (f"; deleted {removed['users']} service user(s)" if removed["users"] else ""), highlight=False,
                  soft_wrap=True)  # fmt: skip
    if args.store is not None:
        schemas = drop_namespace(args.store, args.namespace)
        console.print(f"namespace {args.namespace}: dropped {len(schemas)} PostgreSQL schema(s)", highlight=False)
    return EXIT_OK


async def watch(args: argparse.Namespace, console: Console) -> int:
    return await watch_namespace(args, console)
