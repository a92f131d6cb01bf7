"""Cost that does not grow with the work, as the bench reports it: throughput per tenth, memory growth."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from sagalab.bench.result import Machine, RunFigures, Verdict
from sagalab.bench.tenths import Growth, Memory, growth, last_over_first, per_tenth, rss_mb
from sagalab.bench.tenths_view import coordinator_ms
from sagalab.bench.view import figures_table
from scenarios.result import Latency
from tests.unit.bench_support import result_with


def test_tenths_split_the_run_by_completions_and_measure_each_over_its_own_span() -> None:
    """100 orders settling one per 0.1 s from t=0: every tenth is 10 orders in 1 s; a slowing run shows it."""
    steady = per_tenth(0.0, [0.1 * (i + 1) for i in range(100)])
    assert steady == [10.0] * 10 and last_over_first(steady) == 1.0
    slowing = per_tenth(0.0, [0.1 * (i + 1) for i in range(90)] + [9.0 + 0.2 * (i + 1) for i in range(10)])
    assert slowing[-1] == 5.0 and last_over_first(slowing) == 0.5
    assert per_tenth(0.0, [1.0, 2.0]) == [] and last_over_first([]) is None


def test_rss_is_read_from_proc_status_in_megabytes(tmp_path: Path) -> None:
    """VmRSS in kB becomes MB; a process that is gone reads as None."""
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "status").write_text("Name:\tpython\nVmRSS:\t  51200 kB\nThreads:\t3\n")
    assert rss_mb(42, tmp_path) == 50.0
    assert rss_mb(43, tmp_path) is None and rss_mb(None, tmp_path) is None


def test_growth_reports_each_process_and_the_largest_growth() -> None:
    """The JSON keeps start and end per process; the view shows the largest growth."""
    g = growth(0.0, [0.1 * (i + 1) for i in range(20)], {"a": 40.0, "b": 50.0}, {"a": 45.5, "b": 49.0})
    assert g.rss == {"a": Memory(start_mb=40.0, end_mb=45.5), "b": Memory(start_mb=50.0, end_mb=49.0)}
    assert g.max_rss_growth_mb == 5.5 and len(g.tenths_per_s) == 10
    assert Growth.model_validate_json(g.model_dump_json()) == g


def test_the_table_shows_first_and_last_tenth_their_ratio_and_rss_growth() -> None:
    """The bench's table has the rows the issue's 100,000-order target is read from."""
    saga = RunFigures(kind="saga", mode="orchestration", hops=7, orders=100, settled=100, concurrency=10, instances=1,
                      throughput_per_s=50.0, latency_ms=Latency(p50=1.0, p95=2.0, p99=3.0), wall_s=2.0,
                      messages_per_order=7.0, cpu_s={"orchestrator": 0.5}, verdict=Verdict(ok=True, completed=100),
                      growth=Growth(tenths_per_s=[60.0] + [50.0] * 8 + [57.0], last_over_first=0.95,
                                    rss={"orchestrator": Memory(start_mb=60.0, end_mb=62.5)}))  # fmt: skip
    assert coordinator_ms(saga) == 5.0
    console = Console(width=200, record=True)
    console.print(figures_table(result_with(saga)))
    text = console.export_text()
    for row, value in (("first tenth /s", "60.0"), ("last tenth /s", "57.0"), ("last/first tenth", "0.95"),
                       ("RSS growth MB (max)", "+2.5"), ("coordinator CPU ms/saga", "5.00")):  # fmt: skip
        line = next(line for line in text.splitlines() if row in line)
        assert value in line, line
    assert Machine(cores=2, broker="x")  # the result model still builds with its defaults
