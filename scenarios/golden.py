"""Golden transcripts: each scenario keeps the transcript of a good run per mode (scenarios/transcript.py), and
every run is compared with it; ``--record-golden`` writes it instead.

A built-in scenario keeps its golden in ``scenarios/golden/<name>.json``, a scenario with ``golden_file`` set
keeps it there. One file holds both modes, each with the orders and seed it was recorded with (a run with other
orders or another seed is not compared) and its lines::

    {"scenario": "out-of-stock",
     "choreography": {"orders": 1, "seed": 7, "transcript": ["order #1: compensated", "  PlaceOrder ..."]},
     "orchestration": {...}}
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.histories import find_history
from scenarios.result import GoldenCheck
from scenarios.run_state import Run, RunOptions
from scenarios.scenario import Scenario
from scenarios.transcript import transcript

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def golden_path(scenario: Scenario) -> Path:
    """Where a scenario's golden transcript lives: its own ``golden_file``, else the catalogue's folder."""
    return scenario.golden_file or GOLDEN_DIR / f"{scenario.name}.json"


class GoldenFileError(ValueError):
    """A golden file that cannot be read as one (the user's input is at fault)."""


@dataclass(frozen=True)
class Golden:
    """One mode's stored transcript and the run it was recorded from."""

    conditions: dict[str, Any]
    lines: list[str]


def load(path: Path) -> dict[str, Golden]:
    """The goldens of a file, by mode (empty when there is no file)."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
        return {mode: Golden({k: v for k, v in entry.items() if k != "transcript"}, list(entry["transcript"]))
                for mode, entry in document.items() if mode in ("choreography", "orchestration")}  # fmt: skip
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise GoldenFileError(f"{path} is not a golden transcript file: {exc!r}") from None


def save(path: Path, scenario: str, goldens: dict[str, Golden]) -> None:
    """Write a golden file: both modes in one JSON document, a line of the transcript per line of the file."""
    document: dict[str, Any] = {"scenario": scenario}
    for mode in ("choreography", "orchestration"):
        if mode in goldens:
            document[mode] = {**goldens[mode].conditions, "transcript": goldens[mode].lines}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def conditions(options: RunOptions) -> dict[str, Any]:
    """What a transcript depends on besides the scenario: how many orders, the seed, and any fault, switch,
    participant of the user's own or orchestrator option the command line adds."""
    found: dict[str, Any] = {"orders": options.orders or options.scenario.default_orders, "seed": options.seed}
    if options.unsafe:
        found["unsafe"] = sorted(options.unsafe)
    if options.added_faults:
        found["faults"] = list(options.added_faults)
    if options.participants:
        found["participants"] = dict(sorted(options.participants.items()))
    if options.ledger != "store":
        found["ledger"] = options.ledger
    if options.service_options:
        found["orchestrator"] = dict(sorted(options.service_options.items()))
    return found


def diff(expected: list[str], actual: list[str], name: str) -> list[str]:
    """A unified diff of two transcripts, the golden first."""
    return list(difflib.unified_diff(expected, actual, fromfile=f"golden {name}", tofile="this run", lineterm=""))


def run_transcript(run: Run, outcomes: dict[str, str]) -> list[str]:
    """A finished run's transcript, from its trace and, in orchestration, its executions' histories."""
    order_ids = [o.order_id for o in run.orders]
    histories = ({o: find_history(o, [run.data_dir]) for o in order_ids}
                 if run.options.mode == "orchestration" else None)  # fmt: skip
    return transcript(run.trace.records, order_ids, outcomes, histories, rejected=len(run.rejected))


def verdict(run: Run, outcomes: dict[str, str], other_failures: list[str], settled: bool) -> GoldenCheck:
    """Compare the run with its golden (or, asked to record, write it): the result's ``golden`` entry."""
    options = run.options
    path = options.golden_file or golden_path(options.scenario)
    check = GoldenCheck(file=str(path))
    if options.attach is not None:
        return check.model_copy(update={"reason": "attached to a running stack: its transcript is not compared"})
    lines = run_transcript(run, outcomes)
    stored = load(path)
    wanted = conditions(options)
    if options.golden_action == "record":
        if not settled or other_failures:
            why = "the run did not settle" if not settled else "the run did not meet its expectation"
            return check.model_copy(update={"reason": f"not recorded: {why}"})
        save(path, options.scenario.name, {**stored, options.mode: Golden(wanted, lines)})
        return check.model_copy(update={"recorded": True})
    golden = stored.get(options.mode)
    if golden is None:
        return check.model_copy(update={"reason": f"no golden transcript for {options.mode} (--record-golden writes one)"})
    if golden.conditions != wanted:
        return check.model_copy(update={"reason": f"recorded with {_said(golden.conditions)}, this run has {_said(wanted)}"})
    differences = diff(golden.lines, lines, f"{path.name} ({options.mode})")
    return check.model_copy(update={"checked": True, "matched": not differences, "diff": differences})


def _said(found: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in found.items())


def failure(check: GoldenCheck) -> str | None:
    """The expectation failure a mismatch is (None when there is none)."""
    if check.checked and not check.matched:
        return f"the transcript differs from the golden {check.file} ({len(check.diff)} diff lines)"
    return None
