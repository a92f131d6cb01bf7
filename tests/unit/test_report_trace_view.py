"""`sagalab trace`: one order's timelines of both modes, side by side in the terminal."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from sagalab.report.runs import load_folder, summarise
from sagalab.trace_view import KIND_STYLES, show, timeline
from scenarios.result import OrderStory
from tests.unit.report_support import recorded


def _console(width: int) -> Console:
    return Console(record=True, width=width, force_terminal=True, color_system="truecolor")


def test_both_timelines_sit_side_by_side_with_a_summary_each(tmp_path: Path) -> None:
    """On a wide terminal each row holds both modes; each mode ends with messages, hops and time to settle."""
    console = _console(160)
    show(recorded("out-of-stock", tmp_path), None, console)
    lines = console.export_text().splitlines()
    heads = next(line for line in lines if "choreography" in line)
    assert "orchestration" in heads
    assert any("runner → orders" in line and "runner → orchestrator" in line for line in lines)
    assert any("5 messages, 6 hops" in line and "orchestrator → payment" in line for line in lines)
    assert any(line.strip().startswith("7 messages, 7 hops") for line in lines)


def test_a_narrow_terminal_stacks_the_modes_rather_than_cut_names(tmp_path: Path) -> None:
    """Too narrow for two columns: one timeline under the other, every name whole."""
    console = _console(70)
    show(recorded("out-of-stock", tmp_path), None, console)
    text = console.export_text()
    assert text.index("5 messages") < text.index("orchestration") and "PaymentRefunded" in text and "…" not in text


def test_messages_are_coloured_by_kind(tmp_path: Path) -> None:
    """Forward, failure and compensation messages each get their own style."""
    run = load_folder(recorded("out-of-stock", tmp_path))[1]
    console = _console(120)
    segments = {seg.text.strip(): str(seg.style) for seg in console.render(timeline(run, run.order_ids()[0]))}
    assert len(set(KIND_STYLES.values())) == len(KIND_STYLES)
    assert segments["OutOfStock"] == KIND_STYLES["failure"]
    assert segments["RefundPayment"] == KIND_STYLES["compensation"]
    assert segments["ReserveStock"] == KIND_STYLES["forward"]


def test_the_summary_counts_hops_as_deliveries(tmp_path: Path) -> None:
    """A message two services receive is one message and two hops; settling is first to last message."""
    run = load_folder(recorded("out-of-stock", tmp_path))[0]
    records = run.records_of(run.order_ids()[0])
    summary = summarise(records)
    assert (summary.messages, summary.hops) == (5, 6)
    assert summary.settle_ms == (records[-1].t - records[0].t) * 1000


def test_what_the_trace_cannot_show_comes_from_the_orders_story(tmp_path: Path) -> None:
    """Redeliveries never cross the tap (the broker hands the same message again): the timeline ends with the
    order's story, which counts them as attempts."""
    folder = recorded("out-of-stock", tmp_path)
    run = load_folder(folder)[0]
    order_id = next(iter(run.result.outcomes))
    told = run.result.model_copy(update={"stories": {order_id: OrderStory(
        outcome="compensated", failed_step="ReserveStock", error="OutOfStock: none left", attempts={"RefundPayment": 3})}})  # fmt: skip
    (run.folder / "result.json").write_text(told.model_dump_json())
    console = _console(200)
    console.print(timeline(load_folder(folder)[0], order_id))
    assert "story: compensated; ReserveStock failed (OutOfStock: none left); attempts RefundPayment x3" in (
        console.export_text())
