"""How cost reads in the bench's table: the coordinator's CPU per saga, first and last tenth of the run,
their ratio, memory growth; and each mode against each peer run beside it (``--peer``)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from sagalab.bench.result import BenchResult, RunFigures

COORDINATORS = ("orchestrator", "orders", "engine", "server", "app")
"""Who coordinates the saga in each run: sagalab's two modes, the ASL engine, Temporal's server, DBOS's app."""
LAST_OVER_FIRST_TARGET = 0.9
"""Issue 15: the last tenth of a long run keeps at least this share of the first tenth's throughput ..."""
RSS_GROWTH_TARGET_MB = 50.0
"""... and no process grows by this much resident memory or more."""
ANSWERERS = ("payment", "inventory", "shipping", "workers", "worker")
"""Who does the saga's steps: sagalab's participants, the ASL engine's workers, Temporal's worker (DBOS runs its
steps inside its app, the coordinator)."""


def _num(value: float | None, digits: int = 1) -> str:
    return "·" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> Text:
    if value is None:
        return Text("·")
    return Text(f"{value:.2f}", style="green" if value >= LAST_OVER_FIRST_TARGET else "red")


def _rss(run: RunFigures) -> Text:
    grown = run.growth.max_rss_growth_mb if run.growth else None
    if grown is None:
        return Text("·")
    return Text(f"{grown:+.1f}", style="green" if grown < RSS_GROWTH_TARGET_MB else "red")


def coordinator_ms(run: RunFigures) -> float | None:
    """CPU milliseconds the run's coordinator spent per settled saga (None for the raw chain)."""
    name = next((n for n in COORDINATORS if run.cpu_s.get(n) is not None), None)
    if name is None or not run.settled or run.kind == "raw":
        return None
    return round(1000 * run.cpu_s[name] / run.settled, 2)  # type: ignore[operator]


def answerers_ms(run: RunFigures) -> float | None:
    """CPU milliseconds per settled saga of the processes that do the steps (None where the coordinator does them)."""
    spent = [run.cpu_s[n] for n in ANSWERERS if run.cpu_s.get(n) is not None]
    if not spent or not run.settled or run.kind == "raw":
        return None
    return round(1000 * sum(spent) / run.settled, 2)  # type: ignore[arg-type]


def growth_rows(table: Table, runs: Sequence[RunFigures]) -> None:
    """Rows: the coordinator's CPU ms per saga, throughput of the first and the last tenth, last over first, the largest RSS growth of a process."""
    table.add_row("coordinator CPU ms/saga", *[_num(coordinator_ms(r), 2) for r in runs])
    tenths = [r.growth.tenths_per_s if r.growth else [] for r in runs]
    table.add_row("first tenth /s", *[_num(t[0]) if t else "·" for t in tenths])
    table.add_row("last tenth /s", *[_num(t[-1]) if t else "·" for t in tenths])
    table.add_row("last/first tenth", *[_ratio(r.growth.last_over_first if r.growth else None) for r in runs])
    cpu = [r.growth.cpu_ms_per_saga_tenths if r.growth else [] for r in runs]
    table.add_row("CPU ms/saga, first → last tenth",
                  *[f"{_num(c[0], 2)} → {_num(c[-1], 2)}" if len(c) > 1 else "·" for c in cpu])  # fmt: skip
    table.add_row("RSS growth MB (max)", *[_rss(r) for r in runs], end_section=True)


def peer_lines(result: BenchResult) -> list[str]:
    """Each mode against each peer of the same run: throughput, p50 and coordinator CPU, as ratios, the CPU of
    whoever does the steps (sagalab's participants against the peer's workers, where it has any), and the verdict
    on issue 15's target for that pair where this run measures it (``peer_target``)."""
    lines = []
    for peer in result.peers.values():
        for mode in result.modes.values():
            saga = mode.saga
            tput = saga.throughput_per_s / peer.throughput_per_s if saga.throughput_per_s and peer.throughput_per_s else None
            p50 = saga.latency_ms.p50 / peer.latency_ms.p50 if saga.latency_ms.p50 and peer.latency_ms.p50 else None
            cpu = (coordinator_ms(saga), coordinator_ms(peer))
            line = (f"{mode.mode} / {peer.mode}: throughput {_num(tput, 2)}x, p50 {_num(p50, 2)}x, coordinator "
                    f"CPU ms/saga {_num(cpu[0], 2)} vs {_num(cpu[1], 2)}")  # fmt: skip
            if (steps := answerers_ms(peer)) is not None:  # most of a throughput gap, when the peer's are trivial
                line += f", participants {_num(answerers_ms(saga), 2)} vs its workers {_num(steps, 2)}"
            target = peer_target(result, mode.mode, peer.mode, tput, p50, cpu)
            lines.append(f"{line}; {target}" if target else line)
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def peer_target(result: BenchResult, mode: str, peer: str, tput: float | None, p50: float | None,
                cpu: tuple[float | None, float | None]) -> str | None:  # fmt: skip
    """Issue 15's target for a mode against a peer, judged where this run measures it: orchestration at
    ``light`` at least the ASL engine's throughput at C=100 (and no more coordinator CPU per saga), its p50 at
    C=1 no worse; at ``strict``, each mode ahead of Temporal and DBOS in throughput at C=100 and p50 at C=1."""
    light, strict = result.machine.durability == "light", result.machine.durability == "strict"
    at_100, at_1 = result.concurrency == 100, result.concurrency == 1
    if peer.endswith("asl engine") and mode == "orchestration" and light and (at_100 or at_1):
        if at_1:
            return f"target at light, C=1: p50 no worse than the engine's: {_met(p50 is not None and p50 <= 1.0)}"
        cpu_ok = None not in cpu and cpu[0] <= cpu[1]  # type: ignore[operator]
        return (f"targets at light, C=100: throughput >= 1.0x {_met(tput is not None and tput >= 1.0)}, "
                f"coordinator CPU <= the engine's {_met(cpu_ok)}")  # fmt: skip
    if (peer.endswith("temporal") or peer.endswith("dbos")) and strict and at_100:
        return f"target at strict, C=100: ahead in throughput {_met(tput is not None and tput > 1.0)}"
    if (peer.endswith("temporal") or peer.endswith("dbos")) and strict and at_1:
        return f"target at strict, C=1: ahead in p50 {_met(p50 is not None and p50 < 1.0)}"
    return None
