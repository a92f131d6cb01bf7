"""A scenario's expectations as check objects, the needs its injectors declare, and the saga's one message order."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from sagalab.compare import _first_seen
from scenarios.assess import expectation_failures
from scenarios.attach import CannotAttach, refuse_faults
from scenarios.broker_faults import CloseConnections, RestartBroker
from scenarios.catalogue import SCENARIOS
from scenarios.chaos import ChaosMonkey, ChaosPlan, chaos_scenario
from scenarios.checks import (
    AllEnd,
    AsPredicted,
    BrokenOnPurpose,
    Completes,
    Consistent,
    DeadLettered,
    MayNotSettle,
    Rejected,
    Settles,
    StuckOnlyIfReported,
    Violates,
)
from scenarios.files.load import loads
from scenarios.injectors import Duplicate, KillService
from scenarios.result import Consistency, Latency, MessageCounts, OrderCounts, RunResult, ViolationOut
from scenarios.run_state import RunOptions
from scenarios.scenario import DECLINED_CARD, Need, Scenario, order_fields, same
from shared.domain.contracts import MESSAGE_TYPES, Order
from shared.domain.reading import COMPENSATING, SAGA_ORDER

README = Path(__file__).parents[2] / "README.md"
PARKED = ViolationOut(order_id="ord-x-0007", rule="termination.needs-attention",
                      detail="parked: ReleaseStock failed: HandlerBug")  # fmt: skip
LEFT = ViolationOut(order_id="ord-x-0007", rule="stock.left-behind", detail="1 reserved")
MONEY = ViolationOut(order_id="ord-x-0003", rule="money.net", detail="charged")


def _result(mode: str = "choreography", violations: tuple[ViolationOut, ...] = (), **fields: Any) -> RunResult:
    base: dict[str, Any] = dict(
        scenario="s", mode=mode, seed=7, orders=OrderCounts(total=1, completed=1),
        consistency=Consistency(ok=not violations, violations=list(violations)),
        messages=MessageCounts(total=4, per_order=4, by_type={}, dead_lettered=0), latency_ms=Latency(),
        duration_s=1.0, settled=True, expectation_met=False, outcomes={"ord-x-0000": "completed"},
    )  # fmt: skip
    return RunResult(**(base | fields))


def _order(i: int, **overrides: object) -> Order:
    return Order.model_validate(order_fields("x", i, random.Random(1), **overrides))


def test_the_readme_example_builds_a_scenario_that_checks_what_it_says() -> None:
    """The README's "Write your own scenario" example loads as written and expects what its [expect] says, in each
    mode, on top of the defaults it does not replace."""
    section = README.read_text().split("## Write your own scenario", 1)[1]
    snippet = re.search(r"```toml\n(.*?)```", section, re.S)
    assert snippet is not None
    scenario = loads(snippet.group(1), Path("big-spender.toml"))
    for mode in ("choreography", "orchestration"):
        checks = scenario.checks_for(mode)  # type: ignore[arg-type]
        assert Completes(0) in checks and Rejected(1) in checks and DeadLettered(0) in checks
        assert Settles() in checks and Consistent() in checks
    assert scenario.predict(_order(0, card_number=DECLINED_CARD), {"KEYBOARD": 10}, "orchestration") == "compensated"


def test_the_defaults_stand_unless_a_check_on_their_topic_replaces_them() -> None:
    """Settles and Consistent hold for every scenario, unless it says a saga may stay stuck or which rules break."""
    plain = Scenario("p", "t", {}, same(), expect=(AllEnd("completed"),)).checks_for("choreography")
    assert Settles() in plain and Consistent() in plain and AsPredicted() in plain
    unsafe = Scenario("u", "t", {}, same(), expect=(Violates("termination"), MayNotSettle())).checks_for("choreography")
    assert Settles() not in unsafe and Consistent() not in unsafe


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_says_what_it_expects_in_a_line(name: str) -> None:
    """`sagalab scenarios` can show each scenario's expectations: one line per check, none empty."""
    for mode in ("choreography", "orchestration"):
        for check in SCENARIOS[name].checks_for(mode):  # type: ignore[arg-type]
            assert check.describe() and "\n" not in check.describe()
    assert SCENARIOS[name].expects()


def test_consistent_fails_only_on_violations_no_check_accounts_for() -> None:
    """A release broken on purpose accounts for its parked order and held stock, never for a money rule."""
    scenario = Scenario("b", "t", {}, same(), expect=(BrokenOnPurpose(("-0007",)),))
    parked = _result(violations=(PARKED, LEFT))
    assert expectation_failures(scenario, parked, [], {}) == []
    assert expectation_failures(scenario, _result(violations=(PARKED, MONEY)), [], {}) == ["violations: money.net"]


def test_a_stuck_saga_is_tolerated_once_the_watcher_reported_it() -> None:
    """StuckOnlyIfReported accounts for a termination violation of an order the watcher reported, in choreography."""
    stuck = ViolationOut(order_id="ord-x-0001", rule="termination.stuck", detail="charged")
    scenario = Scenario("s", "t", {}, same(), expect=(StuckOnlyIfReported(),))
    reported = {"alerts": [{"order_id": "ord-x-0001"}]}
    assert expectation_failures(scenario, _result(violations=(stuck,), extra=reported), [], {}) == []
    assert expectation_failures(scenario, _result(violations=(stuck,)), [], {}) == ["violations: termination.stuck"]
    orchestration = _result("orchestration", violations=(stuck,), extra=reported)
    assert expectation_failures(scenario, orchestration, [], {}) == ["violations: termination.stuck"]


def test_each_check_explains_its_failure() -> None:
    """The texts a failed run shows, one per check that failed, in the order the checks are judged."""
    scenario = Scenario("e", "t", {}, same(), expect=(Violates("money.net"), Completes(2), DeadLettered(1)))
    result = _result(settled=False, outcomes={"ord-x-0000": "stuck"}, extra={"faults_injected": {"never injected: X": 1}})
    assert expectation_failures(scenario, result, [_order(0, card_number=DECLINED_CARD)], {}) == [
        "the run did not settle before its deadline",
        "expected violations not seen: money.net",
        "1 order(s) completed, expected 2",
        "0 dead-lettered, expected 1",
        "the scenario's fault did not happen: never injected: X",
    ]  # the declined order is unpredictable: an expected violation leaves every outcome open


def test_the_checks_shape_the_prediction() -> None:
    """A broken order or an expected violation leaves the outcome open; AllEnd names it; else the business rules."""
    broken = Scenario("b", "t", {}, same(), expect=(AllEnd("compensated"), BrokenOnPurpose(("-0007",))))
    assert broken.predict(_order(7), {}, "choreography") is None
    assert broken.predict(_order(6), {}, "choreography") == "compensated"
    plain = Scenario("p", "t", {}, same())
    assert plain.predict(_order(1, card_number=DECLINED_CARD), {"KEYBOARD": 5}, "choreography") == "compensated"
    assert plain.predict(_order(1), {"KEYBOARD": 0}, "choreography") == "compensated"
    assert plain.predict(_order(1), {"KEYBOARD": 5}, "choreography") is None
    unsafe = Scenario("u", "t", {}, same(), expect=(Violates("money.net"),))
    assert unsafe.predict(_order(1, card_number=DECLINED_CARD), {}, "choreography") is None


def test_injectors_declare_what_they_need() -> None:
    """Broker faults need broker control, process faults the processes, a duplicate nothing more than the run."""
    assert RestartBroker().needs == CloseConnections().needs == {Need.BROKER_CONTROL}
    assert KillService("payment").needs == {Need.PROCESSES} and not Duplicate("OrderPlaced").needs
    assert SCENARIOS["broker-restart"].needs("orchestration") == {Need.BROKER_CONTROL}
    assert not SCENARIOS["happy-path"].needs("choreography")
    assert Need.BROKER_CONTROL in ChaosMonkey(ChaosPlan(broker_restarts=1)).needs
    assert ChaosMonkey(ChaosPlan(broker_restarts=0)).needs == {Need.PROCESSES}
    assert chaos_scenario(10, ChaosPlan(broker_restarts=0)).needs("choreography") == {Need.PROCESSES}


def test_attach_refuses_a_fault_scenario_naming_what_it_needs(tmp_path: Path) -> None:
    """A running stack cannot give the runner its processes or the broker: the refusal says what was needed."""
    with pytest.raises(CannotAttach, match="own the service processes and control the broker; run it without"):
        refuse_faults(RunOptions(SCENARIOS["broker-restart"], "choreography", "amqp://x", tmp_path, attach=tmp_path))
    refuse_faults(RunOptions(SCENARIOS["happy-path"], "choreography", "amqp://x", tmp_path, attach=tmp_path))


def test_the_saga_order_lists_every_message_once_compensations_last_latest_step_first() -> None:
    """SAGA_ORDER is every message type once: the forward story, then the undoing in reverse step order."""
    assert sorted(SAGA_ORDER) == sorted(MESSAGE_TYPES)
    position = SAGA_ORDER.index
    assert max(position(t) for t in MESSAGE_TYPES if t not in COMPENSATING and "Failed" not in t) < min(
        position(t) for t in COMPENSATING)  # fmt: skip
    assert position("PlaceOrder") < position("ChargePayment") < position("ReserveStock") < position("ScheduleShipment")
    assert position("CancelShipment") < position("ReleaseStock") < position("RefundPayment")
    assert position("ReleaseStock") < position("StockReleaseFailed") < position("RefundPayment")


def test_compare_lists_message_types_along_the_saga() -> None:
    """The comparison table's rows follow SAGA_ORDER; a type it does not know goes last."""
    types = ["PaymentRefunded", "Zzz", "OrderPlaced", "RefundPayment", "StockReserved"]
    assert sorted(types, key=lambda t: _first_seen([], t)) == [
        "OrderPlaced", "StockReserved", "RefundPayment", "PaymentRefunded", "Zzz"]  # fmt: skip
