"""The HTML report: self-contained, both modes side by side, every section drawn from the run folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagalab.cli import main
from sagalab.exits import EXIT_OK, EXIT_USAGE, UsageError
from sagalab.report.html import write_report
from sagalab.report.runs import choose_order, load_folder
from tests.unit.report_support import recorded

STATE_NAMES = ("ChargePayment", "ReserveStock", "ScheduleShipment", "OrderCompleted", "CancelShipment",
               "ReleaseStock", "RefundPayment", "OrderRejected", "OrderCancelled", "CompensationFailed")  # fmt: skip


def _report(tmp_path: Path, scenario: str = "out-of-stock", sub: str = "") -> str:
    folder = recorded(scenario, tmp_path) / sub
    return write_report(folder, tmp_path / "report.html").read_text()


def test_the_report_needs_nothing_from_the_network(tmp_path: Path) -> None:
    """No URL, script, stylesheet link, font or image to fetch (links within the page only); a CSP forbids
    fetching anything at all."""
    html = _report(tmp_path)
    assert not re.search(r"https?:|//[a-z]|<script|<link|<img|@import|url\(|<iframe", html, re.IGNORECASE)
    assert not re.search(r'\s(?:src|href)="(?!#)', html)
    assert "default-src 'none'" in html and "<style>" in html


def test_both_modes_sit_side_by_side_section_by_section(tmp_path: Path) -> None:
    """Two columns; every section (head, outcome, verdict, defences, stories, chart, sequence, graph) once per
    mode, in mode order."""
    html = _report(tmp_path)
    assert 'style="--cols:2"' in html
    cells = re.findall(r'<section class="cell (\w+)" data-mode="(\w+)">', html)
    sections = ["mode", "outcomes", "verdict", "defences", "stories", "chart", "sequence", "graph"]
    assert cells == [(s, m) for s in sections for m in ("choreography", "orchestration")]


def test_the_report_has_the_diagrams_of_both_modes(tmp_path: Path) -> None:
    """Two sequence diagrams, two charts, the event graph and the state graph with every state of the definition."""
    html = _report(tmp_path)
    assert html.count('<svg class="sequence"') == 2 and html.count('<svg class="chart"') == 2
    assert html.count('<svg class="event-graph"') == 1 and html.count('<svg class="state-graph"') == 1
    for name in STATE_NAMES:
        assert f'data-state="{name}"' in html
    assert 'data-state="ReserveStock" data-status="caught"' in html
    assert 'data-state="RefundPayment" data-status="compensating"' in html


def test_the_verdict_and_outcomes_are_shown(tmp_path: Path) -> None:
    """Each mode shows its expectation, the oracle's verdict and its outcome counts."""
    html = _report(tmp_path)
    assert html.count("expectation met") == 2 and html.count("every order fully done or fully undone") == 2
    assert html.count("<span>compensated</span><b>1</b>") == 2


def test_violations_are_listed(tmp_path: Path) -> None:
    """A run whose oracle found violations lists each with its rule, order and detail."""
    folder = recorded("out-of-stock", tmp_path) / "choreography"
    result = (folder / "result.json").read_text()
    broken = result.replace(
        '"ok": true,\n    "violations": []',
        '"ok": false, "violations": [{"order_id": "o-9", "rule": "money", "detail": "charged twice"}]',
    )
    assert broken != result
    (folder / "result.json").write_text(broken)
    html = write_report(folder, tmp_path / "r.html").read_text()
    assert "1 violation(s)" in html and "charged twice" in html and "<td>money</td>" in html


def test_a_single_run_folder_gives_one_column(tmp_path: Path) -> None:
    """`run --html` reports one mode: one column, the orchestration's state graph."""
    html = _report(tmp_path, sub="orchestration")
    assert 'style="--cols:1"' in html and '<svg class="state-graph"' in html and 'class="event-graph"' not in html


def test_the_order_followed_is_the_first_compensated_unless_asked(tmp_path: Path) -> None:
    """By default the first compensated order is followed; an unknown --order is a usage error naming the orders."""
    runs = load_folder(recorded("shipping-failure", tmp_path))
    (order,) = runs[0].order_ids()
    assert choose_order(runs) == order == choose_order(runs, order)
    with pytest.raises(UsageError, match=order):
        choose_order(runs, "ord-nope")


def test_sagalab_trace_html_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sagalab trace FOLDER --html PATH` prints the timelines and writes the report; a bad --order exits 2."""
    folder = recorded("out-of-stock", tmp_path)
    out = tmp_path / "trace.html"
    assert main(["trace", str(folder), "--html", str(out)]) == EXIT_OK
    assert out.exists() and "<svg" in out.read_text()
    assert main(["trace", str(folder), "--order", "ord-nope"]) == EXIT_USAGE
    assert "no order 'ord-nope'" in capsys.readouterr().out
