"""Load a scenario file: TOML, checked by the model (``scenarios/files/model.py``), into the ``Scenario`` the runner
takes. Every problem is reported at once, each naming the file, the line, the field and what is wrong, with a
suggestion for a misspelt key or value."""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from orchestration.asl import DefinitionError
from orchestration.bootstrap import load_machine
from orchestration.resources import ResourceMap
from scenarios.checks import AllEnd, Check, Completes, DeadLettered, MayNotSettle, Rejected, Violates, WatcherReports
from scenarios.fault_specs import MODES, BadFaultSpec, read, with_faults
from scenarios.files.model import Checks, ScenarioFile
from scenarios.files.orders import MakeOrders, StockFor
from scenarios.files.positions import Positions
from scenarios.scenario import Scenario
from shared.config import Mode


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, and where."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ScenarioFileError(ValueError):
    """A scenario file that cannot be loaded: every problem, one a line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load(path: Path) -> Scenario:
    """The scenario a file describes (raises ``ScenarioFileError`` naming each problem)."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError([Problem(str(path), 1, "", f"cannot read it: {exc}")]) from None
    return loads(source, path)


def loads(source: str, path: Path) -> Scenario:
    """The scenario a file's text describes; ``path`` names it in errors and anchors the paths it holds."""
    reader = _Reader(source, path)
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ScenarioFileError([Problem(str(path), int(line.group(1)) if line else 1, "",
                                         f"not valid TOML: {exc}")]) from None  # fmt: skip
    try:
        model = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioFileError(reader.problems(exc, data)) from None
    return reader.scenario(model)


class _Reader:
    def __init__(self, source: str, path: Path) -> None:
        self.path = path
        self.positions = Positions(source)
        self.found: list[Problem] = []

    def problem(self, loc: Sequence[str | int], message: str) -> None:
        self.found.append(Problem(str(self.path), self.positions.line_of(loc), _dotted(loc), message))

    def problems(self, exc: ValidationError, data: dict[str, Any]) -> list[Problem]:
        seen: set[tuple[str | int, ...]] = set()
        for error in exc.errors():
            loc = _in_data(error["loc"], data)
            if loc in seen:
                continue  # one message per field, however many members of a union refused it
            seen.add(loc)
            self.problem(loc, _explain(error, loc))
        faults = data.get("faults")
        for i, text in enumerate(faults if isinstance(faults, list) else ()):
            if isinstance(text, str):  # read them too, so every problem is listed at once
                try:
                    read(text)
                except BadFaultSpec as exc:
                    self.problem(("faults", i), str(exc))
        return sorted(self.found, key=lambda p: p.line)

    def scenario(self, model: ScenarioFile) -> Scenario:
        orders = model.orders
        if orders.mix == "mixed" and (orders.list or orders.fields.model_fields_set):
            self.problem(("orders", "mix"), "the mixed mix makes every order's fields itself: drop orders.fields "
                                            "and orders.list, or use mix = \"alike\"")  # fmt: skip
        if orders.list and orders.fields.model_fields_set:
            self.problem(("orders", "fields"), "orders.fields is for alike orders; put the fields in each "
                                               "[[orders.list]] entry instead")  # fmt: skip
        for sku in sorted(set(model.stock) & set(model.stock_per_order)):
            self.problem(("stock_per_order", sku), f"{sku} is in [stock] too; give it one or the other")
        count = orders.count if "count" in orders.model_fields_set or not orders.list else len(orders.list)
        stock = StockFor(tuple(model.stock.items()), tuple(model.stock_per_order.items()))
        scenario = Scenario(
            name=model.name or self.path.stem, teaches=model.teaches,
            stock=stock if model.stock_per_order else dict(model.stock), make_orders=MakeOrders.of(orders),
            default_orders=count, expect=self.expectations(model), deadline_s=model.deadline_seconds,
            unsafe=frozenset(model.unsafe), service_options=self.service_options(model),
            attention_grace_s=model.attention_grace_seconds, place_interval_s=model.place_interval_seconds,
            own_users=model.own_users, durability=model.durability, golden_file=self.path.with_name(f"{self.path.stem}.golden.json"),
        )  # fmt: skip
        scenario = self.with_faults(scenario, model.faults)
        if self.found:
            raise ScenarioFileError(sorted(self.found, key=lambda p: p.line))
        return scenario

    def expectations(self, model: ScenarioFile) -> tuple[Check, ...] | dict[Mode, tuple[Check, ...]]:
        expect = model.expect
        shared = expect.model_dump(include=expect.model_fields_set - set(MODES))
        if expect.choreography is None and expect.orchestration is None:
            return _checks(Checks.model_validate(shared))
        per_mode: dict[Mode, tuple[Check, ...]] = {}
        for mode in MODES:
            own = getattr(expect, mode)
            merged = shared | (own.model_dump(include=own.model_fields_set) if own is not None else {})
            per_mode[mode] = _checks(Checks.model_validate(merged))
        return per_mode

    def service_options(self, model: ScenarioFile) -> dict[str, dict[str, str]]:
        orchestrator = model.service_options.orchestrator
        options: dict[str, dict[str, str]] = {}
        if orchestrator.workflow:
            options.setdefault("orchestrator", {})["workflow"] = orchestrator.workflow
        for key in ("definition", "resources"):
            value = getattr(orchestrator, key)
            if value is None:
                continue
            if key == "resources" and value.lstrip().startswith("{"):
                options.setdefault("orchestrator", {})[key] = value
                continue
            target = (self.path.parent / value).resolve()
            if not target.is_file():
                self.problem(("service_options", "orchestrator", key), f"no file {target} (paths are relative to "
                                                                       "the scenario file)")  # fmt: skip
                continue
            options.setdefault("orchestrator", {})[key] = str(target)
        if "definition" in options.get("orchestrator", {}) or "resources" in options.get("orchestrator", {}):
            self.check_definition(options["orchestrator"])
        if (deadline := model.service_options.orders.saga_deadline) is not None:
            options["orders"] = {"saga_deadline": f"{deadline:g}"}
        return options

    def check_definition(self, orchestrator: dict[str, str]) -> None:
        where = ("service_options", "orchestrator", "definition" if "definition" in orchestrator else "resources")
        try:
            load_machine(orchestrator.get("definition"), ResourceMap.load(orchestrator.get("resources")))
        except DefinitionError as exc:
            self.problem(where, "invalid definition: " + "; ".join(exc.problems))
        except (ValueError, OSError) as exc:
            self.problem(("service_options", "orchestrator", "resources"), f"bad resource map: {exc}")

    def with_faults(self, scenario: Scenario, faults: Sequence[str]) -> Scenario:
        for i, text in enumerate(faults):
            try:
                scenario = with_faults(scenario, (read(text),))
            except BadFaultSpec as exc:
                self.problem(("faults", i), str(exc))
        return replace(scenario, faults={m: f for m, f in scenario.faults.items() if f},
                       injectors={m: i for m, i in scenario.injectors.items() if i})  # fmt: skip


def _checks(checks: Checks) -> tuple[Check, ...]:
    """The check objects a table of ``[expect]`` asks for, in one fixed order."""
    made: list[Check] = []
    if checks.violates:
        made.append(Violates(*checks.violates))
    if checks.all_end:
        made.append(AllEnd(checks.all_end))
    if checks.completes is not None:
        made.append(Completes(checks.completes))
    if checks.rejected is not None:
        made.append(Rejected(checks.rejected))
    if checks.dead_lettered is not None:
        made.append(DeadLettered(checks.dead_lettered))
    if checks.may_not_settle:
        made.append(MayNotSettle())
    if checks.watcher_reports:
        made.append(WatcherReports())
    return tuple(made)


def _in_data(loc: Sequence[str | int], data: Any) -> tuple[str | int, ...]:
    """The part of a pydantic error location that is a path in the file (not a union member's name)."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(data, Mapping) and isinstance(part, str):
            path.append(part)
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            path.append(part)
            data = data[part]
        else:
            break
    return tuple(path)


def _dotted(loc: Sequence[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if i else p for i, p in enumerate(loc))


def _explain(error: Any, loc: tuple[str | int, ...]) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        known = _keys_at(loc[:-1])
        hint = _suggest(str(loc[-1]), known)
        return f"unknown key {loc[-1]!r}{hint} (known here: {', '.join(known)})"
    if kind == "missing":
        return "missing: say what the scenario teaches" if loc == ("teaches",) else "missing"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        return f"{error['input']!r} is not one of {', '.join(choices)}{_suggest(str(error['input']), choices)}"
    return str(message[0].lower() + message[1:])


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keys_at(loc: Sequence[str | int]) -> list[str]:
    """The keys the model knows at a place in the file."""
    model: type[BaseModel] | None = ScenarioFile
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if found := _model_in(arg):
            return found
    return None
