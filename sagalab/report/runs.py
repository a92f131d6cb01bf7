"""Reading run folders back for the reports: the result, the trace, the definition and one order's story."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.histories import find_history
from sagalab.exits import UsageError
from scenarios.result import RunResult
from scenarios.trace import TraceRecord, load_trace
from shared.stores.location import database_exists

MODE_ORDER = ("choreography", "orchestration")
_FIELDS = [f.name for f in dataclasses.fields(TraceRecord)]


@dataclass(frozen=True)
class RunView:
    """One mode's run folder, read back: what the runner wrote, nothing recomputed."""

    folder: Path
    result: RunResult
    records: list[TraceRecord]

    @property
    def mode(self) -> str:
        return self.result.mode

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def definition(self) -> Path | None:
        path = self.folder / "definition.asl.json"
        return path if path.exists() else None

    def order_ids(self) -> list[str]:
        """Every order of the run, in the order the oracle listed them (else as the trace first saw them)."""
        ids = list(self.result.outcomes)
        seen = set(ids)
        for r in self.records:
            if r.correlation_id and r.correlation_id not in seen:
                seen.add(r.correlation_id)
                ids.append(r.correlation_id)
        return ids

    def records_of(self, order_id: str) -> list[TraceRecord]:
        return sorted((r for r in self.records if r.correlation_id == order_id), key=lambda r: r.t)

    def outcome(self, order_id: str) -> str:
        return self.result.outcomes.get(order_id, "unknown")


@dataclass(frozen=True)
class OrderSummary:
    """One order in one mode: how many messages, how many deliveries (hops), how long until the last one."""

    messages: int
    hops: int
    settle_ms: float
    dead_lettered: int

    def line(self) -> str:
        dead = f", {self.dead_lettered} dead-lettered" if self.dead_lettered else ""
        return f"{self.messages} messages, {self.hops} hops, settled in {self.settle_ms:.1f} ms{dead}"


def summarise(records: list[TraceRecord]) -> OrderSummary:
    """A hop is one delivery to one service: a message two services receive is two hops."""
    delivered = [r for r in records if not r.dead_lettered]
    settle = (records[-1].t - records[0].t) * 1000 if records else 0.0
    return OrderSummary(
        messages=len(delivered),
        hops=sum(len(r.receivers) for r in delivered),
        settle_ms=settle,
        dead_lettered=len(records) - len(delivered),
    )


def record_from(raw: dict[str, Any]) -> TraceRecord:
    """A trace line as a record; keys a newer or older runner wrote differently are tolerated."""
    values: dict[str, Any] = {name: raw.get(name) for name in _FIELDS}
    values["receivers"] = list(values["receivers"] or [])
    values["dead_lettered"] = bool(values["dead_lettered"])
    values["t"] = float(values["t"] or 0.0)
    values["facts"] = dict(values["facts"] or {})
    return TraceRecord(**values)


def load_run(folder: Path) -> RunView:
    result_path = folder / "result.json"
    if not result_path.exists():
        raise UsageError(f"{folder} is not a run folder (no result.json)")
    result = RunResult.model_validate_json(result_path.read_text())
    trace_path = folder / "trace.jsonl"
    records = [record_from(raw) for raw in load_trace(trace_path)] if trace_path.exists() else []
    return RunView(folder=folder, result=result, records=sorted(records, key=lambda r: r.t))


def is_compare(folder: Path) -> bool:
    return any((folder / mode / "result.json").exists() for mode in MODE_ORDER)


def load_folder(folder: Path) -> list[RunView]:
    """A compare folder gives both modes (choreography first); a run folder gives its one mode."""
    if not folder.is_dir():
        raise UsageError(f"no run folder {folder}")
    if is_compare(folder):
        return [load_run(folder / mode) for mode in MODE_ORDER if (folder / mode / "result.json").exists()]
    return [load_run(folder)]


def newest_folder(runs_dir: Path) -> Path:
    """The most recent run or compare folder (their names start with the time they were made)."""
    candidates = [p for p in runs_dir.glob("*") if p.is_dir() and ((p / "result.json").exists() or is_compare(p))]
    if not candidates:
        raise UsageError(f"no runs under {runs_dir}; run `sagalab compare out-of-stock` first, or pass a FOLDER")
    return max(candidates, key=lambda p: (p.name, p.stat().st_mtime))


def choose_order(runs: list[RunView], wanted: str | None = None) -> str:
    """The order to follow: the one asked for, else the first any mode compensated, else the first."""
    ids: list[str] = []
    for run in runs:
        ids += [i for i in run.order_ids() if i not in ids]
    if wanted is not None:
        if wanted not in ids:
            some = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
            raise UsageError(f"no order {wanted!r} in this run; its orders: {some or 'none'}")
        return wanted
    if not ids:
        raise UsageError("this run has no orders to show")
    return next((i for i in ids if any(run.outcome(i) == "compensated" for run in runs)), ids[0])


def load_history(run: RunView, order_id: str) -> list[dict[str, Any]] | None:
    """The order's execution history from the orchestrator's database, if this run has one."""
    if not database_exists(run.data_dir / "orchestrator.db"):
        return None
    return find_history(order_id, [run.data_dir])
