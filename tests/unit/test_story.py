"""Each order's failure story, told from recorded data (trace records, log lines, an execution history)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from sagalab.compare import render, render_stories
from sagalab.report.html import write_report
from sagalab.report.runs import load_folder
from scenarios.defences import defence_of, defences, histories
from scenarios.result import Compensation, Defences, OrderCounts, OrderStory, RunResult
from scenarios.service_logs import parse_lines
from scenarios.story import story_of, tell
from scenarios.trace import Trace, TraceRecord, story_facts
from shared.stores.sqlite import Refusal
from shared.transport.topology import Topology
from tests.unit.report_support import recorded

ORDER = "ord-1"


def _rec(t: float, type_: str, sender: str = "?", **fields: Any) -> TraceRecord:
    values: dict[str, Any] = {
        "t": t, "type": type_, "sender": sender, "receivers": [], "exchange": "ns.events", "routing_key": type_,
        "message_id": f"m-{t}", "correlation_id": ORDER, "causation_id": None, "state": None, "attempt": None,
        "dead_lettered": False, "dead_letter_reason": None,
    }  # fmt: skip
    values.update(fields)
    return TraceRecord(**values)


def _scheduled(step: str, attempt: int, delay: float | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"resource": f"sagalab:svc:{step}", "attempt": attempt}
    if delay is not None:
        details["retryDelaySeconds"] = delay
    return {"type": "TaskScheduled", "taskScheduledEventDetails": details}


def _log(t: str, service: str, message_type: str, **fields: Any) -> str:
    return json.dumps({"service": service, "message_type": message_type, "correlation_id": ORDER, "message_id": "m",
                       "timestamp": f"2026-12-02T11:00:{t}Z", **fields})  # fmt: skip


def test_out_of_stock_names_the_step_the_participant_error_and_the_refund() -> None:
    """Charged at t=1, out of stock at t=2, refunded at t=3.5: the story says which step failed with the
    participant's reason, that the refund was done, and that the order was inconsistent for 2.5 s."""
    records = [_rec(0, "PlaceOrder", "runner"), _rec(0.5, "OrderPlaced", "orders"),
               _rec(1, "PaymentCharged", "payment", facts={"amount_cents": 4999}),
               _rec(2, "OutOfStock", "inventory", facts={"reason": "0 of KEYBOARD left, 1 wanted"}),
               _rec(3.5, "PaymentRefunded", "payment", facts={"amount_cents": 4999})]  # fmt: skip
    story = story_of("compensated", records)
    assert story.failed_step == "ReserveStock"
    assert story.error == "OutOfStock: 0 of KEYBOARD left, 1 wanted"
    assert story.compensations == [Compensation(step="RefundPayment", result="done")]
    assert story.inconsistent_for_s == 2.5
    assert story.attempts == {} and story.parked_reason is None


def test_a_declined_payment_took_no_effect_so_it_was_never_inconsistent() -> None:
    """The first step failed: nothing to undo, no inconsistency window."""
    story = story_of("compensated", [_rec(1, "PaymentDeclined", "payment", facts={"reason": "card declined"})])
    assert (story.failed_step, story.error) == ("ChargePayment", "PaymentDeclined: card declined")
    assert story.compensations == [] and story.inconsistent_for_s is None


def test_a_timed_out_shipment_cancelled_before_it_happened_is_a_needless_compensation() -> None:
    """Orchestration: ScheduleShipment timed out (the history says so; the late attempt's refusal by the barrier
    is not why the saga failed), the cancel found nothing scheduled (needless: it left a tombstone), the release
    and the refund undid real effects."""
    records = [_rec(1, "PaymentCharged", "payment", facts={"amount_cents": 10}),
               _rec(2, "StockReserved", "inventory"),
               _rec(3, "ScheduleShipment", "orchestrator", state="ScheduleShipment", message_id="c-ship"),
               _rec(13, "ShipmentCancelled", "shipping", facts={"was_scheduled": False}),
               _rec(14, "StockReleased", "inventory", facts={"quantity": 1}),
               _rec(15, "PaymentRefunded", "payment", facts={"amount_cents": 10}),
               _rec(15, "ShipmentFailed", "shipping", facts={"reason": "ScheduleShipment refused: CancelShipment was "
                                                                       "already recorded"})]  # fmt: skip
    history = [_scheduled("ScheduleShipment", 0),
               {"type": "TaskTimedOut", "taskTimedOutEventDetails": {
                   "resource": "sagalab:shipping:ScheduleShipment", "error": "States.Timeout",
                   "cause": "no answer in 10 s", "willRetry": False}}]  # fmt: skip
    story = story_of("compensated", records, history=history)
    assert (story.failed_step, story.error) == ("ScheduleShipment", "States.Timeout: no answer in 10 s")
    assert [(c.step, c.result) for c in story.compensations] == [
        ("CancelShipment", "needless"),
        ("ReleaseStock", "done"),
        ("RefundPayment", "done"),
    ]
    assert story.inconsistent_for_s == 14


def test_a_failed_compensation_is_named_with_the_parked_reason_and_the_dead_letter() -> None:
    """Choreography's compensation-fails: the release failed for good (its trigger dead-lettered after the
    delivery limit), the refund ran anyway, the order service parked the order naming the step."""
    records = [_rec(1, "PaymentCharged", "payment", facts={"amount_cents": 10}),
               _rec(2, "StockReserved", "inventory"),
               _rec(3, "ShipmentFailed", "shipping", facts={"reason": "no carrier delivers to Atlantis"}),
               _rec(4, "ShipmentFailed", "shipping", dead_lettered=True, dead_letter_reason="HandlerFailed"),
               _rec(5, "StockReleaseFailed", "inventory", facts={"reason": "handler failed 6 times"}),
               _rec(6, "PaymentRefunded", "payment", facts={"amount_cents": 10})]  # fmt: skip
    story = story_of("inconsistent", records, parked_reason="ReleaseStock failed: handler failed 6 times")
    assert story.failed_step == "ScheduleShipment"
    assert story.compensations == [
        Compensation(step="ReleaseStock", result="failed", detail="StockReleaseFailed: handler failed 6 times"),
        Compensation(step="RefundPayment", result="done")]  # fmt: skip
    assert story.parked_reason == "ReleaseStock failed: handler failed 6 times"
    assert story.dead_letters == ["ShipmentFailed: HandlerFailed"]


def test_a_task_failed_reply_is_the_step_its_command_asked_for() -> None:
    """Orchestration: a TaskFailed answers the command it was caused by; its error and cause are the story's."""
    records = [_rec(1, "ReleaseStock", "orchestrator", state="ReleaseStock", message_id="c-rel"),
               _rec(2, "TaskFailed", "inventory", causation_id="c-rel",
                    facts={"error": "HandlerBug", "cause": "injected bug"})]  # fmt: skip
    story = story_of("inconsistent", records)
    assert story.compensations == [
        Compensation(step="ReleaseStock", result="failed", detail="HandlerBug: injected bug")
    ]


def test_a_compensation_commanded_but_never_answered_says_so() -> None:
    records = [_rec(1, "PaymentCharged", "payment"), _rec(2, "RefundPayment", "orchestrator", state="RefundPayment")]
    assert story_of("stuck", records).compensations == [Compensation(step="RefundPayment", result="unanswered")]


def test_orchestrator_retries_come_from_the_history_with_their_backoff() -> None:
    """Two failed attempts then a charge: attempts x3, waits 1 s and 2 s, and no failed step (it recovered)."""
    records = [_rec(1, "ChargePayment", "orchestrator", state="ChargePayment", message_id="c1"),
               _rec(2, "TaskFailed", "payment", causation_id="c1", facts={"error": "Transient"}),
               _rec(3, "ChargePayment", "orchestrator", state="ChargePayment", message_id="c1"),
               _rec(4, "TaskFailed", "payment", causation_id="c1", facts={"error": "Transient"}),
               _rec(6, "ChargePayment", "orchestrator", state="ChargePayment", message_id="c1"),
               _rec(7, "PaymentCharged", "payment"), _rec(8, "ShipmentScheduled", "shipping")]  # fmt: skip
    failed = {
        "type": "TaskFailed",
        "taskFailedEventDetails": {
            "resource": "sagalab:payment:ChargePayment",
            "error": "Transient",
            "willRetry": True,
        },
    }
    history = [_scheduled("ChargePayment", 0), failed, _scheduled("ChargePayment", 1, 1.0), failed,
               _scheduled("ChargePayment", 2, 2.0), _scheduled("ReserveStock", 0)]  # fmt: skip
    story = story_of("completed", records, history=history)
    assert story.attempts == {"ChargePayment": 3} and story.retry_delays_s == {"ChargePayment": [1.0, 2.0]}
    assert story.retry_errors == {"ChargePayment": ["Transient", "Transient"]}
    assert story.failed_step is None and story.error is None
    assert "attempts ChargePayment x3 (failed: Transient x2); retry delays ChargePayment 1/2 s" in story.line()


def test_choreography_retries_are_the_redeliveries_its_logs_record() -> None:
    """Payment's handler failed twice on OrderPlaced and was redelivered: ChargePayment x3, the waits between
    the deliveries, two redeliveries; a duplicate the inbox dropped is no attempt but is counted."""
    logs = parse_lines([
        _log("01.000000", "payment", "OrderPlaced", event="handler failed; requeueing", error="Boom", delivery_count=0),
        _log("01.250000", "payment", "OrderPlaced", event="handler failed; requeueing", error="Boom", delivery_count=1),
        _log("01.750000", "payment", "OrderPlaced", event="handled", verdict="handled", redelivered=True),
        _log("02.000000", "orders", "OrderPlaced", event="handled", verdict="handled", redelivered=False),
        _log("03.000000", "payment", "OutOfStock", event="handled", verdict="duplicate", duplicate=True),
        "not json", '{"event": "relay republishing unsent messages"}',
    ])  # fmt: skip
    assert (logs.redelivered, logs.duplicates_dropped) == (2, 1)
    story = story_of("completed", [_rec(5, "PaymentCharged", "payment")], logs.attempts)
    assert story.attempts == {"ChargePayment": 3} and story.retry_delays_s == {"ChargePayment": [0.25, 0.5]}
    assert story.retry_errors == {"ChargePayment": ["Boom", "Boom"]}


def test_a_delivery_that_gave_up_is_one_more_attempt() -> None:
    """The last delivery the queue allows logs only its closing line: it counts as the last failed attempt."""
    logs = parse_lines([
        _log("01.0", "inventory", "ShipmentFailed", event="handler failed; requeueing", error="Bug", delivery_count=0),
        _log("01.5", "inventory", "ShipmentFailed", event="handled", failed="HandlerBug", gave_up=True,
             redelivered=True, delivery_count=1),
    ])  # fmt: skip
    assert [a.error for a in logs.attempts] == ["Bug", "HandlerBug"] and logs.redelivered == 1
    assert story_of("inconsistent", [], logs.attempts).attempts == {"ReleaseStock": 2}


def test_only_orders_with_something_to_tell_get_a_story() -> None:
    """A completed order tried once at every step has no story; a compensated one has."""
    records = [_rec(1, "PaymentCharged", "payment", correlation_id="ok"),
               _rec(2, "ShipmentScheduled", "shipping", correlation_id="ok"),
               _rec(3, "PaymentDeclined", "payment", correlation_id="declined")]  # fmt: skip
    stories = tell({"ok": "completed", "declined": "compensated"}, records)
    assert list(stories) == ["declined"]


def test_story_facts_are_few_and_short() -> None:
    """Only the fields a story reads, strings cut short; a body that is not an object gives none."""
    facts = story_facts({"reason": "x" * 5000, "amount_cents": 0, "order": {"card_number": "4242"}, "error": None})
    assert facts == {"reason": "x" * 300, "amount_cents": 0}
    assert story_facts(["not", "an", "object"]) == {} and story_facts(None) == {}


def _result(stories: dict[str, OrderStory]) -> RunResult:
    return RunResult.model_validate({
        "scenario": "s", "mode": "choreography", "seed": 1, "orders": OrderCounts(total=len(stories)),
        "consistency": {"ok": True}, "messages": {"total": 0, "per_order": 0, "by_type": {}, "dead_lettered": 0},
        "latency_ms": {}, "duration_s": 0, "settled": True, "expectation_met": True, "stories": stories,
    })  # fmt: skip


def test_the_terminal_prints_one_line_per_story_bounded_and_unmarked() -> None:
    """One grep-friendly line per order (mode, order id, story), a participant's error printed as it is (no
    markup read from it, no line break), the first N then how many more."""
    stories = {f"ord-{i}": OrderStory(outcome="compensated", failed_step="ReserveStock",
                                      error="OutOfStock: [red]bold[/red]\nsecond line") for i in range(4)}  # fmt: skip
    out = io.StringIO()
    render_stories([_result(stories)], Console(file=out, width=300, color_system=None), limit=3)
    lines = out.getvalue().splitlines()
    assert lines[0] == ("choreography ord-0 compensated; ReserveStock failed (OutOfStock: [red]bold[/red] second "
                        "line)")  # fmt: skip
    assert len(lines) == 4 and lines[3].startswith("choreography ... and 1 more")


def test_each_refusal_counts_for_the_defence_that_made_it() -> None:
    """A refusal is the barrier's; an ignored step done already is the business key's; any other ignored
    message is a stray (a reply no task waits for). With the logs, histories and trace, one defences block."""
    refusals = [Refusal("refused", ORDER, "ReserveStock refused: ReleaseStock was already recorded for order o"),
                Refusal("ignored", ORDER, "ChargePayment already done for order o by message m"),
                Refusal("ignored", ORDER, "a reply no task is waiting for (late, duplicate or unknown)"),
                Refusal("ignored", ORDER, "a reply no task is waiting for (late, duplicate or unknown)")]  # fmt: skip
    assert [defence_of(r) for r in refusals] == ["barrier_refusals", "business_key_answers", "strays_ignored",
                                                 "strays_ignored"]  # fmt: skip
    logs = parse_lines([_log("01.0", "payment", "RefundPayment", event="handled", verdict="duplicate",
                             duplicate=True, redelivered=True)])  # fmt: skip
    histories = {ORDER: [_scheduled("ChargePayment", 0), _scheduled("ChargePayment", 1, 1.0),
                         {"type": "TaskTimedOut", "taskTimedOutEventDetails": {}}]}  # fmt: skip
    trace = Trace(Topology("ns"), [])
    d = defences(refusals, logs, histories, trace)
    assert (d.barrier_refusals, d.business_key_answers, d.strays_ignored) == (1, 1, 2)
    assert (d.duplicates_dropped, d.redeliveries, d.retries, d.task_timeouts, d.dead_letters) == (1, 1, 1, 1, 0)


def test_the_compare_table_has_a_defences_section_with_what_either_mode_used() -> None:
    """A defence either mode used gets a row, side by side; one neither used is left out."""
    choreography = _result({}).model_copy(update={"defences": Defences(redeliveries=2)})
    orchestration = _result({}).model_copy(update={"mode": "orchestration", "defences": Defences(retries=2)})
    out = io.StringIO()
    render([choreography, orchestration], Console(file=out, width=200, color_system=None))
    table = out.getvalue()
    assert re.search(r"│ +redeliveries +│ +2 │ +· │", table) and re.search(
        r"│ +retries \(orchestrator\) +│ +· │ +2 │", table
    )
    assert "defences" in table and "duplicates dropped" not in table


def test_a_recorded_out_of_stock_run_tells_the_same_story_in_both_modes(tmp_path: Path) -> None:
    """From a recorded compare folder (trace, and the orchestration's history in its database): both modes
    say ReserveStock failed and the refund was done, and the report anchors each story and links to it."""
    folder = recorded("out-of-stock", tmp_path)
    for run in load_folder(folder):
        executions = histories(run.data_dir, run.result.outcomes)
        assert bool(executions) == (run.mode == "orchestration")
        stories = tell(run.result.outcomes, run.records, histories=executions)
        (order_id, story), *_ = stories.items()
        assert (story.outcome, story.failed_step) == ("compensated", "ReserveStock")
        assert story.compensations == [Compensation(step="RefundPayment", result="done")]
        assert story.inconsistent_for_s is not None and story.inconsistent_for_s > 0
        result = run.result.model_copy(update={"stories": stories})
        (run.folder / "result.json").write_text(result.model_dump_json())
    html = write_report(folder, tmp_path / "report.html").read_text()
    for mode in ("choreography", "orchestration"):
        assert f'<li id="story-{mode}-{order_id}">' in html and f'href="#story-{mode}-{order_id}"' in html
    # The order list says why each order ended so, and every order has an anchor of its own.
    assert html.count("compensated (out of stock)</a>") == 2 and f'<tr id="order-{order_id}"' in html


def test_why_an_order_ended_so_in_a_few_words() -> None:
    assert [OrderStory(outcome="compensated", failed_step=step, error=error).why() for step, error in (
        ("ChargePayment", "PaymentDeclined: card 4000 declined"), ("ReserveStock", "OutOfStock: 0 left"),
        ("ScheduleShipment", "ShipmentFailed: Atlantis"), ("ScheduleShipment", "States.Timeout: 5 s"),
        ("ReserveStock", "HandlerBug: boom"))] == ["declined", "out of stock", "shipping failed", "timed out",
                                                   "ReserveStock failed"]  # fmt: skip
    assert OrderStory(outcome="inconsistent", parked_reason="ReleaseStock failed").why() == "parked"
