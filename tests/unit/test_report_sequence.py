"""Sequence diagrams drawn from the trace: lanes, one arrow per delivery, colours and marks."""

from __future__ import annotations

import re
from pathlib import Path

from sagalab.report import sequence
from sagalab.report.runs import choose_order, load_folder, summarise
from sagalab.report.svg import KIND_COLOURS
from scenarios.trace import TraceRecord, repeat_marks
from tests.unit.report_support import recorded


def _record(type_: str, sender: str, receivers: list[str], t: float, **fields: object) -> TraceRecord:
    values: dict[str, object] = {
        "t": t, "type": type_, "sender": sender, "receivers": receivers, "exchange": "ns.commands",
        "routing_key": f"x.{type_}", "message_id": f"m-{t}", "correlation_id": "ord-1", "causation_id": None,
        "state": None, "attempt": None, "dead_lettered": False, "dead_letter_reason": None,
    }  # fmt: skip
    values.update(fields)
    return TraceRecord(**values)  # type: ignore[arg-type]


def _lanes(svg: str) -> list[str]:
    return re.findall(r'<g class="lane" data-lane="([^"]+)">', svg)


def _arrows(svg: str) -> list[tuple[str, str, str, str]]:
    return re.findall(r'<g class="msg" data-type="(\w+)" data-kind="([\w-]+)" data-from="([^"]+)" data-to="([^"]+)">',
                      svg)  # fmt: skip


def test_out_of_stock_has_a_lane_per_process_and_an_arrow_per_delivery(tmp_path: Path) -> None:
    """Choreography: 4 lanes and 6 arrows (OutOfStock reaches two services); orchestration: 4 lanes, 7 arrows."""
    runs = load_folder(recorded("out-of-stock", tmp_path))
    order = choose_order(runs)
    choreo = sequence.render(runs[0].records_of(order), "c", ["runner", "orders", "payment", "inventory"])
    orch = sequence.render(runs[1].records_of(order), "o", ["runner", "orchestrator", "payment", "inventory"])
    assert _lanes(choreo) == ["runner", "orders", "payment", "inventory"]
    assert _lanes(orch) == ["runner", "orchestrator", "payment", "inventory"]
    assert len(_arrows(choreo)) == 6 == summarise(runs[0].records_of(order)).hops
    assert len(_arrows(orch)) == 7
    assert ("OutOfStock", "failure", "inventory", "payment") in _arrows(choreo)
    assert ("OutOfStock", "failure", "inventory", "orders") in _arrows(choreo)
    assert [t for t, *_ in _arrows(orch)] == ["PlaceOrder", "ChargePayment", "PaymentCharged", "ReserveStock",
                                              "OutOfStock", "RefundPayment", "PaymentRefunded"]  # fmt: skip


def test_arrows_are_coloured_by_the_kind_of_message(tmp_path: Path) -> None:
    """Forward blue, failure red, compensation green: the same kinds as shared.domain.reading.kind_of."""
    runs = load_folder(recorded("out-of-stock", tmp_path))
    svg = sequence.render(runs[1].records_of(choose_order(runs)), "o")
    for type_, kind in (("ReserveStock", "forward"), ("OutOfStock", "failure"), ("RefundPayment", "compensation")):
        arrow = re.search(rf'<g class="msg" data-type="{type_}".*?</g>', svg, re.DOTALL)
        assert arrow and f'stroke="{KIND_COLOURS[kind]}"' in arrow.group(0)


def test_retries_and_dead_letters_are_marked() -> None:
    """A retried command says which attempt it is; a dead-lettered message goes dashed into a dead-letter lane."""
    records = [
        _record("PlaceOrder", "runner", ["orchestrator"], 0.0),
        _record("ChargePayment", "orchestrator", ["payment"], 0.01, attempt=1, state="ChargePayment"),
        _record("ChargePayment", "orchestrator", ["dead-letters"], 0.02, dead_lettered=True,
                dead_letter_reason="delivery_limit"),
    ]  # fmt: skip
    svg = sequence.render(records, "retry")
    assert _lanes(svg)[-1] == "dead-letters"
    assert "attempt 2" in svg
    dead = re.search(r'<g class="msg" data-type="ChargePayment" data-kind="dead-letter".*?</g>', svg, re.DOTALL)
    assert dead and 'stroke-dasharray="6 4"' in dead.group(0) and "delivery_limit" in dead.group(0)
    assert summarise(records).dead_lettered == 1 and summarise(records).messages == 2


def test_times_are_relative_to_the_orders_first_message() -> None:
    """The left column reads +0.0 for the first message and milliseconds since then for the rest."""
    records = [
        _record("PlaceOrder", "runner", ["orders"], 100.0),
        _record("OrderPlaced", "orders", ["payment"], 100.0125),
    ]
    labels = re.findall(r'class="t"[^>]*>([^<]+)<', sequence.render(records, "t"))
    assert labels == ["+0.0", "+12.5"]


def test_an_order_without_messages_says_so() -> None:
    """An order the trace never saw gives an empty diagram with a note instead of failing."""
    svg = sequence.render([], "empty")
    assert "no messages for this order" in svg and not _arrows(svg)


def test_repeats_are_marked_in_the_timeline_and_on_the_arrows() -> None:
    """An injected duplicate (same message id) is a copy the inbox drops, not a plain second line; a copy
    under a new id is the business key's; a retry of a command is numbered, not called a copy."""
    records = [
        _record("RefundPayment", "orchestrator", ["payment"], 1.0, message_id="m-refund"),
        _record("RefundPayment", "runner", ["payment"], 2.0, message_id="m-refund"),
        _record("ChargePayment", "orchestrator", ["payment"], 3.0, message_id="m-charge", attempt=None),
        _record("ChargePayment", "orchestrator", ["payment"], 4.0, message_id="m-charge", attempt=1),
        _record("ChargePayment", "runner", ["payment"], 5.0, message_id="copy-123"),
        _record("RefundPayment", "payment", ["dead-letters"], 6.0, message_id="m-refund", dead_lettered=True),
    ]  # fmt: skip
    assert repeat_marks(records) == ["", "copy of #1, same message id: the inbox drops it", "", "retry of #3",
                                     "a copy under a new message id: the business key answers it with the first "
                                     "outcome", ""]  # fmt: skip
    labels = [d.label() for d in sequence.deliveries(records)]
    assert labels[1] == "RefundPayment  (copy, same id: dropped by the inbox)"
    assert labels[3] == "ChargePayment  ↻ attempt 2" and "copy" not in labels[3]
    assert labels[4].endswith("(copy under a new id: the business key answers)")
