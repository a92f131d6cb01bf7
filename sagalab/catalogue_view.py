"""The commands about scenarios and faults themselves, not runs: list the catalogue, check or start scenario
files, list every kind of fault."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sagalab.exits import EXIT_OK, UsageError
from scenarios.catalogue import SCENARIOS
from scenarios.fault_kinds import KINDS, markdown_table
from scenarios.files.load import Problem, ScenarioFileError
from scenarios.files.load import load as load_file
from scenarios.files.template import starting_file
from shared.config import NAMESPACE_PATTERN


def scenarios(args: argparse.Namespace, console: Console) -> int:
    """``sagalab scenarios``: list the catalogue; ``[check] FILE...``: check files; ``new NAME``: write one."""
    words = list(args.words)
    if not words:
        return list_scenarios(console)
    if words[0] == "new":
        if len(words) != 2:
            raise UsageError("usage: sagalab scenarios new NAME [--out DIR]")
        return new_scenario(words[1], args.out, console)
    files = words[1:] if words[0] == "check" else words
    if not files:
        raise UsageError("usage: sagalab scenarios check FILE...")
    return check_files([Path(f) for f in files], console)


def check_files(paths: list[Path], console: Console) -> int:
    """Load each file as a run would, say what each holds, and list every problem of every file (exit 2)."""
    problems: list[Problem] = []
    for path in paths:
        if not path.is_file():
            problems.append(Problem(str(path), 1, "", "no such file"))
            continue
        try:
            scenario = load_file(path)
        except ScenarioFileError as exc:
            problems += exc.problems
            continue
        console.print(f"{path}: ok · {scenario.name} · {scenario.default_orders} order(s) · expects "
                      f"{scenario.expects()}", highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    if problems:
        raise ScenarioFileError(problems)
    return EXIT_OK


def new_scenario(name: str, folder: Path, console: Console) -> int:
    """Write a commented scenario file that runs as it is, never over an existing file."""
    if not NAMESPACE_PATTERN.fullmatch(name):
        raise UsageError(f"{name!r}: a scenario's name is letters, digits, '.', '_' and '-' (at most 63)")
    path = folder / f"{name}.toml"
    if path.exists():
        raise UsageError(f"{path} exists; choose another name or --out folder")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(starting_file(name))
    load_file(path)  # it must load as written
    console.print(f"wrote {path}; try it: sagalab compare {path}", highlight=False, soft_wrap=True)
    return EXIT_OK


def list_scenarios(console: Console) -> int:
    table = Table(title="sagalab scenarios", header_style="bold")
    table.add_column("scenario")
    table.add_column("orders", justify="right")
    table.add_column("what it teaches")
    for s in SCENARIOS.values():
        table.add_row(s.name, str(s.default_orders), f"{s.teaches}\n[dim]expects: {escape(s.expects())}[/]")
    console.print(table)
    console.print("Each is a file in scenarios/catalogue/. Write your own: sagalab scenarios new NAME; run it: "
                  "sagalab compare NAME.toml", highlight=False, soft_wrap=True)  # fmt: skip
    return EXIT_OK


def list_faults(console: Console, markdown: bool = False) -> int:
    """Every kind of fault ``--fault`` and scenario files take, with what it provokes and what absorbs it."""
    if markdown:
        print(markdown_table(), end="")
        return EXIT_OK
    table = Table(title="sagalab faults: [MODE/]TARGET:KIND[:ARGS][@TYPE[#N][+SECONDS]]", header_style="bold")
    table.add_column("kind")
    table.add_column("form")
    table.add_column("provokes / absorbed by")
    for kind in KINDS.values():
        table.add_row(kind.name, Text(kind.form), f"{escape(kind.provokes)}\n[dim]absorbed by: {escape(kind.absorbed_by)}[/]")
    console.print(table, emoji=False)
    return EXIT_OK
