"""Golden transcripts with no broker: a transcript does not depend on races or ids, a golden file is found,
written and compared as the scenario says, and a tampered one fails with a readable diff."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from scenarios import golden
from scenarios.catalogue import SCENARIOS
from scenarios.files.load import load as load_file
from scenarios.golden import Golden, conditions, golden_path, load, save, verdict
from scenarios.processes import Fleet
from scenarios.run_state import Run, RunOptions
from scenarios.scenario import Scenario, same
from scenarios.trace import Trace, TraceRecord
from scenarios.transcript import transcript
from shared.domain.contracts import Order
from shared.transport.topology import Topology


def rec(type_: str, sender: str, receivers: list[str], mid: str, cause: str | None, order: str = "ord-a-0000",
        **kw: object) -> TraceRecord:  # fmt: skip
    fields: dict[str, object] = dict(t=0.0, type=type_, sender=sender, receivers=receivers, exchange="x.events",
                                     routing_key=f"{sender}.{type_}", message_id=mid, correlation_id=order,
                                     causation_id=cause, state=None, attempt=None, dead_lettered=False,
                                     dead_letter_reason=None)  # fmt: skip
    return TraceRecord(**(fields | kw))  # type: ignore[arg-type]


# An injected copy of OutOfStock races the refund it set off: the tap may see them in either order.
DUPLICATED = [
    rec("PlaceOrder", "runner", ["orders"], "m1", None),
    rec("OrderPlaced", "orders", ["payment"], "m2", "m1"),
    rec("PaymentCharged", "payment", ["inventory"], "m3", "m2"),
    rec("OutOfStock", "inventory", ["orders", "payment"], "m4", "m3"),
    rec("PaymentRefunded", "payment", ["orders"], "m5", "m4"),
    rec("OutOfStock", "inventory", ["orders", "payment"], "m4", "m3"),
]


def test_causally_concurrent_messages_read_the_same_in_any_tap_order() -> None:
    """The copy before or after the refund, ids and order ids changed: one transcript."""
    first = transcript(DUPLICATED, ["ord-a-0000"], {"ord-a-0000": "compensated"})
    swapped = [*DUPLICATED[:4], DUPLICATED[5], DUPLICATED[4]]
    renamed = [replace(r, correlation_id="ord-b-0000", message_id=r.message_id + "x",
                       causation_id=r.causation_id and r.causation_id + "x") for r in swapped]  # fmt: skip
    assert transcript(swapped, ["ord-a-0000"], {"ord-a-0000": "compensated"}) == first
    assert transcript(renamed, ["ord-b-0000"], {"ord-b-0000": "compensated"}) == first
    assert first == [
        "order #1: compensated",
        "  PlaceOrder  runner -> orders",
        "    OrderPlaced  orders -> payment",
        "      PaymentCharged  payment -> inventory",
        "        OutOfStock  inventory -> orders, payment",
        "          PaymentRefunded  payment -> orders",
        "        OutOfStock  inventory -> orders, payment  (copy)",
    ]


def test_orders_are_labelled_by_placement_and_interleaving_does_not_show() -> None:
    """Two orders whose messages interleave differently read the same, each under its placement number."""
    a = [rec("PlaceOrder", "runner", ["orders"], "a1", None, "o-1"), rec("OrderPlaced", "orders", ["payment"], "a2", "a1", "o-1")]
    b = [rec("PlaceOrder", "runner", ["orders"], "b1", None, "o-2"), rec("PaymentDeclined", "payment", ["orders"], "b2", "b1", "o-2")]
    outcomes = {"o-1": "completed", "o-2": "compensated"}
    one = transcript([a[0], b[0], a[1], b[1]], ["o-1", "o-2"], outcomes)
    assert transcript([b[0], b[1], a[0], a[1]], ["o-1", "o-2"], outcomes) == one
    assert one[0] == "order #1: completed" and "order #2: compensated" in one
    assert not any("o-1" in line or "a1" in line for line in one)


def test_retries_timers_dead_letters_and_injected_messages_are_marked() -> None:
    """A retry (same id, next attempt) sits beside the first try with its own answer; a command with no cause
    follows the orchestrator's last one; a dead letter hangs under its message; poison has no order."""
    cmd = {"exchange": "x.commands"}
    records = [
        rec("PlaceOrder", "runner", ["orchestrator"], "p", None),
        rec("ChargePayment", "orchestrator", ["payment"], "c1", "p", state="ChargePayment", attempt=0, **cmd),
        rec("TaskFailed", "payment", ["orchestrator"], "r1", "c1"),
        rec("ChargePayment", "orchestrator", ["payment"], "c1", "", state="ChargePayment", attempt=1, **cmd),
        rec("PaymentCharged", "payment", ["orchestrator"], "r2", "c1"),
        rec("ReserveStock", "orchestrator", ["inventory"], "c2", "r2", state="ReserveItems", attempt=0, **cmd),
        rec("CancelShipment", "orchestrator", ["shipping"], "c3", None, state="CancelShipment", attempt=0, **cmd),
        rec("ReserveStock", "runner", ["inventory"], "f1", "r2"),
        rec("ReserveStock", "?", ["dead-letters"], "f1", "r2", dead_lettered=True, dead_letter_reason="WrongPublisher"),
        rec("OrderPlaced", "?", ["payment"], "poison-1", None, correlation_id=""),
    ]
    history = [{"type": "ExecutionStarted"}, {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "A"}},
               {"type": "TaskFailed", "taskFailedEventDetails": {"error": "States.Timeout"}}]  # fmt: skip
    lines = transcript(records, ["ord-a-0000"], {}, {"ord-a-0000": history}, rejected=2)
    assert lines == [
        "order #1: unknown",
        "  PlaceOrder  runner -> orchestrator",
        "    ChargePayment  orchestrator -> payment",
        "      TaskFailed  payment -> orchestrator",
        "    ChargePayment  orchestrator -> payment  (attempt 1)",
        "      PaymentCharged  payment -> orchestrator",
        "        ReserveStock  orchestrator -> inventory  (state ReserveItems)",
        "          CancelShipment  orchestrator -> shipping  (on a timer)",
        "        ReserveStock  runner -> inventory  (forged)",
        "          ReserveStock  dead-lettered: WrongPublisher",
        "order #1 history:",
        "  ExecutionStarted",
        "  TaskStateEntered A",
        "  TaskFailed States.Timeout",
        "rejected at the edge, never placed: 2",
        "messages for no order of this run:",
        "  OrderPlaced  ? -> payment  (poison)",
    ]


def test_a_scenario_keeps_its_golden_in_the_catalogue_folder_unless_it_names_a_file(tmp_path: Path) -> None:
    scenario = Scenario("mine", "teaches", {}, same())
    assert golden_path(scenario) == golden.GOLDEN_DIR / "mine.json"
    assert golden_path(replace(scenario, golden_file=tmp_path / "mine.golden.json")) == tmp_path / "mine.golden.json"


def test_a_golden_file_holds_both_modes_one_line_each_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    save(path, "s", {"orchestration": Golden({"orders": 1, "seed": 7}, ["b"]),
                     "choreography": Golden({"orders": 1, "seed": 7}, ["a", "  a2"])})  # fmt: skip
    text = path.read_text()
    assert text.index('"choreography"') < text.index('"orchestration"') and '\n      "  a2"\n' in text
    assert load(path)["choreography"] == Golden({"orders": 1, "seed": 7}, ["a", "  a2"])
    path.write_text("{not json")
    with pytest.raises(golden.GoldenFileError, match="is not a golden transcript file"):
        load(path)


def _run(tmp_path: Path, scenario: Scenario, action: str = "check", **kw: object) -> Run:
    options = RunOptions(scenario, "choreography", "amqp://unused", tmp_path / "run", golden_action=action,  # type: ignore[arg-type]
                         **kw)  # type: ignore[arg-type]  # fmt: skip
    trace = Trace(Topology("x"), [])
    trace.records += DUPLICATED
    order = Order(order_id="ord-a-0000", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=1, card_number="4242424242424242", destination="Oslo")  # fmt: skip
    return Run(options, None, Fleet(), trace, [order])  # type: ignore[arg-type]


def test_recording_then_checking_then_a_tampered_golden(tmp_path: Path) -> None:
    """Recorded from a good run, the golden matches the same run; edited, it fails with a diff naming the line."""
    scenario = Scenario("dup", "teaches", {}, same(), golden_file=tmp_path / "dup.golden.json")
    outcomes = {"ord-a-0000": "compensated"}
    refused = verdict(_run(tmp_path, scenario, "record"), outcomes, ["an order was stuck"], True)
    assert not refused.recorded and refused.reason == "not recorded: the run did not meet its expectation"
    assert verdict(_run(tmp_path, scenario, "record"), outcomes, [], False).reason == "not recorded: the run did not settle"
    assert not scenario.golden_file.exists()  # type: ignore[union-attr]
    assert verdict(_run(tmp_path, scenario, "record"), outcomes, [], True).recorded
    matched = verdict(_run(tmp_path, scenario), outcomes, [], True)
    assert matched.checked and matched.matched and golden.failure(matched) is None
    path = scenario.golden_file
    assert path is not None
    path.write_text(path.read_text().replace("PaymentRefunded", "PaymentCharged"))
    tampered = verdict(_run(tmp_path, scenario), outcomes, [], True)
    assert tampered.checked and tampered.matched is False
    assert "-          PaymentCharged  payment -> orders" in tampered.diff
    assert "+          PaymentRefunded  payment -> orders" in tampered.diff
    assert str(path) in (golden.failure(tampered) or "")


def test_a_run_with_other_orders_or_seed_is_not_compared(tmp_path: Path) -> None:
    scenario = Scenario("dup", "teaches", {}, same(), golden_file=tmp_path / "dup.golden.json")
    assert verdict(_run(tmp_path, scenario, "record"), {}, [], True).recorded
    other = verdict(_run(tmp_path, scenario, seed=3), {}, [], True)
    assert not other.checked and other.reason == "recorded with orders 1, seed 7, this run has orders 1, seed 3"
    assert conditions(_run(tmp_path, scenario, unsafe=frozenset({"no-inbox"})).options)["unsafe"] == ["no-inbox"]
    added = conditions(_run(tmp_path, scenario, added_faults=("payment:crash:after-commit:ChargePayment",)).options)
    assert added["faults"] == ["payment:crash:after-commit:ChargePayment"]


def test_every_catalogue_golden_belongs_to_a_scenario_and_was_recorded_with_its_defaults() -> None:
    """The goldens the test suite's runs compare with: each for a catalogue scenario, at its default orders and
    seed 7 (what the integration tests run), each transcript naming every order the scenario places."""
    files = sorted(golden.GOLDEN_DIR.glob("*.json"))
    assert len(files) >= 5
    for path in files:
        scenario = SCENARIOS[path.stem]
        document = json.loads(path.read_text())
        assert document["scenario"] == scenario.name
        for mode, stored in load(path).items():
            assert stored.conditions == {"orders": scenario.default_orders, "seed": 7}, (path.name, mode)
            headings = [line for line in stored.lines if line.startswith("order #") and ":" in line
                        and "history" not in line]  # fmt: skip
            assert len(headings) == scenario.default_orders, (path.name, mode)


def test_transcript_of_a_shuffled_fan_out_is_stable() -> None:
    """Siblings of a message (two services reacting to it) read the same in every order the tap could see."""
    root = rec("OutOfStock", "inventory", ["orders", "payment"], "m", None)
    children = [rec(t, s, ["orders"], f"c{i}", "m") for i, (t, s) in
                enumerate([("PaymentRefunded", "payment"), ("Noted", "orders"), ("Audit", "audit")])]  # fmt: skip
    seen = set()
    for seed in range(6):
        shuffled = children[:]
        random.Random(seed).shuffle(shuffled)
        seen.add(tuple(transcript([root, *shuffled], ["ord-a-0000"], {})))
    assert len(seen) == 1


def test_a_scenario_files_golden_lives_beside_it_and_the_catalogues_together() -> None:
    """`compare mine.toml --record-golden` keeps mine.golden.json next to mine.toml; the built-in scenarios,
    loaded from the same format, keep theirs in scenarios/golden/."""
    mine = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "big-spender.toml"
    assert golden_path(load_file(mine)) == mine.with_name("big-spender.golden.json")
    assert golden_path(SCENARIOS["out-of-stock"]) == golden.GOLDEN_DIR / "out-of-stock.json"


def test_an_original_and_its_copy_under_a_new_id_read_the_same_whichever_the_participant_took_first() -> None:
    """Payment charges on whichever of the two it handles first and answers the other from its business key
    (silently, for an event); a redelivery can put the copy first. The fullest answer hangs under the original."""
    place, copy = rec("PlaceOrder", "runner", ["orders"], "m1", None), rec("OrderPlaced", "orders", ["payment"], "copy-9", "m1")
    original_first = [place, rec("OrderPlaced", "orders", ["payment"], "m2", "m1"),
                      rec("PaymentCharged", "payment", ["inventory"], "m3", "m2"), copy]  # fmt: skip
    copy_first = [place, rec("OrderPlaced", "orders", ["payment"], "m2", "m1"), copy,
                  rec("PaymentCharged", "payment", ["inventory"], "m3", "copy-9")]  # fmt: skip
    told = transcript(original_first, ["ord-a-0000"], {"ord-a-0000": "completed"})
    assert transcript(copy_first, ["ord-a-0000"], {"ord-a-0000": "completed"}) == told == [
        "order #1: completed",
        "  PlaceOrder  runner -> orders",
        "    OrderPlaced  orders -> payment",
        "      PaymentCharged  payment -> inventory",
        "    OrderPlaced  orders -> payment  (copy under a new id)",
    ]
    both_charged = [*copy_first, rec("PaymentCharged", "payment", ["inventory"], "m4", "m2")]  # no business key
    assert transcript(both_charged, ["ord-a-0000"], {"ord-a-0000": "completed"})[-1] == (
        "      PaymentCharged  payment -> inventory")  # fmt: skip
