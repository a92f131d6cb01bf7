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
    """Each mode against each peer of the same run: throughput, p50 and coordinator CPU, as ratios."""
    lines = []
    for peer in result.peers.values():
        for mode in result.modes.values():
            saga = mode.saga
            tput = saga.throughput_per_s / peer.throughput_per_s if saga.throughput_per_s and peer.throughput_per_s else None
            p50 = saga.latency_ms.p50 / peer.latency_ms.p50 if saga.latency_ms.p50 and peer.latency_ms.p50 else None
            lines.append(f"{mode.mode} / {peer.mode}: throughput {_num(tput, 2)}x, p50 {_num(p50, 2)}x, coordinator "
                         f"CPU ms/saga {_num(coordinator_ms(saga), 2)} vs {_num(coordinator_ms(peer), 2)}")
    return lines
