"""The orchestration state graph: each state's status from the execution history, and how it is drawn."""

from __future__ import annotations

import re
from pathlib import Path

from orchestration.asl import load_definition
from sagalab.report import state_graph
from sagalab.report.runs import choose_order, load_folder, load_history
from tests.unit.report_support import DEFINITION, entered, execution, exited, failed, recorded, succeeded

RED, GREEN = state_graph.STATUS_STYLE["caught"][1], state_graph.STATUS_STYLE["compensating"][1]


def _state(svg: str, name: str) -> str:
    match = re.search(rf'<g class="state" data-state="{name}"[^>]*>.*?</g>', svg, re.DOTALL)
    assert match, f"no state {name} in the graph"
    return match.group(0)


def _recorded_walk(scenario: str, tmp_path: Path) -> tuple[state_graph.Walk, str]:
    runs = load_folder(recorded(scenario, tmp_path))
    orchestration = runs[1]
    order = choose_order(runs)
    assert orchestration.definition is not None
    machine = load_definition(orchestration.definition)
    events = load_history(orchestration, order)
    return state_graph.walk(events or [], machine), state_graph.render(machine, events, "graph")


def test_out_of_stock_lights_reserve_stock_red_and_the_refund_path_green(tmp_path: Path) -> None:
    """Out of stock: ReserveStock caught OutOfStock (red), the refund path is green, shipping never reached."""
    walk, svg = _recorded_walk("out-of-stock", tmp_path)
    assert walk.status == {"ChargePayment": "succeeded", "ReserveStock": "caught",
                           "RefundPayment": "compensating", "OrderCancelled": "compensating"}  # fmt: skip
    assert walk.caught == {"ReserveStock": "OutOfStock"}
    reserve = _state(svg, "ReserveStock")
    assert 'data-status="caught"' in reserve and f'stroke="{RED}"' in reserve and "caught OutOfStock" in reserve
    for name in ("RefundPayment", "OrderCancelled"):
        assert f'stroke="{GREEN}"' in _state(svg, name)
    for name in ("ScheduleShipment", "OrderCompleted", "CancelShipment", "ReleaseStock", "CompensationFailed"):
        assert 'data-status="not reached"' in _state(svg, name)


def test_the_edges_taken_are_drawn_bold_and_the_catch_in_red(tmp_path: Path) -> None:
    """Exactly the transitions the execution took are marked taken; the catch out of ReserveStock is red."""
    walk, svg = _recorded_walk("out-of-stock", tmp_path)
    taken = re.findall(r'<g class="edge taken" data-source="(\w+)" data-target="(\w+)">(.*?)</g>', svg)
    assert (
        {(s, t) for s, t, _ in taken}
        == set(walk.taken)
        == {("ChargePayment", "ReserveStock"), ("ReserveStock", "RefundPayment"), ("RefundPayment", "OrderCancelled")}
    )
    catch = next(body for s, _, body in taken if s == "ReserveStock")
    assert f'stroke="{RED}"' in catch and "OutOfStock" in catch


def test_shipping_failure_undoes_the_reservation_then_the_charge(tmp_path: Path) -> None:
    """Shipping failure: two green steps, ScheduleShipment caught, then ReleaseStock and RefundPayment undo."""
    walk, svg = _recorded_walk("shipping-failure", tmp_path)
    assert walk.status == {"ChargePayment": "succeeded", "ReserveStock": "succeeded", "ScheduleShipment": "caught",
                           "ReleaseStock": "compensating", "RefundPayment": "compensating",
                           "OrderCancelled": "compensating"}  # fmt: skip
    assert [t for _, t in walk.taken] == ["ReserveStock", "ScheduleShipment", "ReleaseStock", "RefundPayment",
                                          "OrderCancelled"]  # fmt: skip
    assert 'data-status="caught"' in _state(svg, "ScheduleShipment")


def test_a_retried_task_that_then_succeeds_is_green_with_its_retries_counted() -> None:
    """A transient failure that is retried does not turn a state red; the tooltip counts the retries."""
    machine = load_definition(DEFINITION)
    events = [entered("Charge"), failed("ServiceUnavailable", retry=True), succeeded(), exited("Charge"),
              entered("Reserve"), succeeded(), exited("Reserve"), entered("Done", "Succeed"),
              execution("Succeeded")]  # fmt: skip
    walk = state_graph.walk(events, machine)
    assert walk.status == {"Charge": "succeeded", "Reserve": "succeeded", "Done": "succeeded"}
    assert walk.retries == {"Charge": 1}
    assert "1 retry" in _state(state_graph.render(machine, events, "g"), "Charge")


def test_a_failure_nothing_catches_is_failed() -> None:
    """A task error with no Catch and no retry left fails the state, and with it the execution."""
    machine = load_definition(DEFINITION)
    events = [entered("Charge"), failed("ServiceUnavailable"), execution("Failed")]
    assert state_graph.walk(events, machine).status == {"Charge": "failed"}


def test_an_undo_that_fails_ends_red() -> None:
    """When a compensation's own error is caught, the step is caught and the Fail state it leads to is failed."""
    machine = load_definition(DEFINITION)
    events = [entered("Charge"), succeeded(), exited("Charge"), entered("Reserve"),
              failed("OutOfStock", caught_to="Refund"), exited("Reserve"), entered("Refund"),
              failed("Timeout", caught_to="Broken"), exited("Refund"), entered("Broken", "Fail"),
              execution("Failed")]  # fmt: skip
    assert state_graph.walk(events, machine).status == {
        "Charge": "succeeded",
        "Reserve": "caught",
        "Refund": "caught",
        "Broken": "failed",
    }


def test_a_task_never_answered_stays_in_progress() -> None:
    """A stuck saga: the state it waits in is in progress (blue), not failed and not succeeded."""
    machine = load_definition(DEFINITION)
    events = [entered("Charge"), succeeded(), exited("Charge"), entered("Reserve")]
    walk = state_graph.walk(events, machine)
    assert walk.status == {"Charge": "succeeded", "Reserve": "in progress"}
    svg = state_graph.render(machine, events, "g")
    assert f'stroke="{state_graph.STATUS_STYLE["in progress"][1]}"' in _state(svg, "Reserve")


def test_without_a_history_every_state_is_drawn_not_reached() -> None:
    """No history (an order the orchestrator never saw): the whole machine, every state grey."""
    machine = load_definition(DEFINITION)
    svg = state_graph.render(machine, None, "g")
    assert svg.count('data-status="not reached"') == len(DEFINITION["States"])
    assert 'class="edge taken"' not in svg


def test_every_transition_of_the_definition_is_an_edge() -> None:
    """Next and Catch transitions are all drawn, each once, between the states the definition names."""
    machine = load_definition(DEFINITION)
    svg = state_graph.render(machine, None, "g")
    edges = set(re.findall(r'<g class="edge[^"]*" data-source="(\w+)" data-target="(\w+)">', svg))
    assert edges == {(t.source, t.target) for t in machine.transitions()}


def test_a_parallel_is_one_node_whose_branch_events_do_not_break_the_path() -> None:
    """The events of a Parallel's branches (states not on the top-level graph) are passed over: the path goes
    Parallel -> its Next, and a failed Parallel that a Catch handles is drawn as caught."""
    branch = {"StartAt": "Inner", "States": {"Inner": {"Type": "Task", "Resource": "r", "End": True}}}
    machine = load_definition({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [branch], "Next": "Done",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}]},
        "Done": {"Type": "Succeed"}, "Undo": {"Type": "Fail"}}})  # fmt: skip

    def ev(kind: str, **details: object) -> dict[str, object]:
        return {"type": kind, "stateEnteredEventDetails" if kind.endswith("Entered") else "d": details}

    ok = [ev("ParallelStateEntered", name="P"), ev("ParallelStateStarted"), ev("TaskStateEntered", name="Inner"),
          ev("ParallelStateSucceeded"), ev("ParallelStateExited", name="P"), ev("SucceedStateEntered", name="Done")]
    assert state_graph.walk(ok, machine).taken == [("P", "Done")]
    failed = [ev("ParallelStateEntered", name="P"), ev("ParallelStateStarted"), ev("TaskStateEntered", name="Inner"),
              {"type": "ParallelStateFailed", "parallelStateFailedEventDetails": {"error": "E", "catcherIndex": 0}},
              ev("FailStateEntered", name="Undo")]  # fmt: skip
    w = state_graph.walk(failed, machine)
    assert w.taken == [("P", "Undo")] and w.caught == {"P": "E"}
