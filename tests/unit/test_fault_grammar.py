"""``--fault`` and scenario files: one line of text per fault, read into a service's fault hook or a runner's
injector, with errors that say what is wrong."""

from __future__ import annotations

import pytest

from scenarios.broker_faults import RestartBroker
from scenarios.catalogue import SCENARIOS
from scenarios.fault_kinds import KINDS
from scenarios.fault_specs import BadFaultSpec, read, read_all, with_faults
from scenarios.injectors import Duplicate, Forge, KillService, Trigger


def test_a_hook_on_a_service_becomes_its_serve_fault_in_every_mode_that_has_it() -> None:
    scenario = with_faults(SCENARIOS["out-of-stock"], read_all(["payment:crash:after-commit:RefundPayment",
                                                                "orders:raise:PlaceOrder:1"]))  # fmt: skip
    assert scenario.faults["orchestration"]["payment"] == ("crash:after-commit:RefundPayment",)
    assert scenario.faults["choreography"]["payment"] == ("crash:after-commit:RefundPayment",)
    assert scenario.faults["choreography"]["orders"] == ("raise:PlaceOrder:1",)
    assert "orders" not in scenario.faults["orchestration"]  # orchestration has no order service


def test_a_mode_prefix_keeps_a_fault_to_one_mode_and_adds_to_the_scenarios_own() -> None:
    base = SCENARIOS["duplicate-delivery"]
    scenario = with_faults(base, read_all(["orchestration/broker:restart:3@ReserveStock#2+0.5"]))
    assert scenario.injectors["choreography"] == base.injectors["choreography"]
    *own, added = scenario.injectors["orchestration"]
    assert tuple(own) == tuple(base.injectors["orchestration"])
    assert added == RestartBroker(Trigger("ReserveStock", 2, 0.5), down_s=3.0)


def test_outside_faults_build_the_runners_injectors() -> None:
    assert read("payment:kill:8@PaymentCharged").trigger == Trigger("PaymentCharged")
    built = with_faults(SCENARIOS["happy-path"], read_all([
        "payment:kill:8@PaymentCharged", "lab:duplicate:ChargePayment:2:id=fresh",
        "lab:forge:ScheduleShipment:exchange=commands:order=unknown:until=ShipmentScheduled|ShipmentFailed@PaymentDeclined",
    ])).injectors["orchestration"]  # fmt: skip
    assert built == (KillService("payment", Trigger("PaymentCharged"), down_s=8.0),
                     Duplicate("ChargePayment", 2, fresh_id=True),
                     Forge("ScheduleShipment", "PaymentDeclined", "commands", ("ShipmentScheduled", "ShipmentFailed"),
                           unknown_order=True))  # fmt: skip


@pytest.mark.parametrize(("spec", "says"), [
    ("paymnt:crash:after-commit:X", "did you mean 'payment'"),
    ("payment:crsh:after-commit:X", "did you mean 'crash'"),
    ("payment:crash:sometime:X", "the form is SERVICE:crash:POINT"),
    ("broker:duplicate:X", "duplicate strikes lab, not broker"),
    ("payment:raise:X:2@PaymentCharged", "takes no @trigger"),
    ("payment:kill:soon", "must be a number"),
    ("lab:forge:PaymentCharged", "give one as @TYPE"),
    ("sideways/payment:kill", "unknown mode 'sideways'"),
    ("payment", "a fault is TARGET:KIND"),
    ("broker:restart@X#two", "a trigger is"),
])  # fmt: skip
def test_a_bad_spec_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(BadFaultSpec, match=says.replace("(", r"\(").replace("[", r"\[")):
        read(spec)


def test_every_problem_is_listed_at_once_and_a_service_missing_from_the_named_mode_is_refused() -> None:
    with pytest.raises(BadFaultSpec) as raised:
        read_all(["paymnt:kill", "broker:restart:x"])
    assert str(raised.value).count("\n") == 1
    with pytest.raises(BadFaultSpec, match="orchestration has no orders service"):
        with_faults(SCENARIOS["happy-path"], read_all(["orchestration/orders:kill"]))


def test_every_kind_says_what_it_provokes_and_what_absorbs_it() -> None:
    for kind in KINDS.values():
        assert kind.provokes and kind.absorbed_by and kind.form.split(":")[1].startswith(kind.name), kind.name


def test_an_argument_that_starts_with_at_is_not_a_trigger() -> None:
    """``bug:TYPE:@SUFFIX`` (a bug tied to orders whose id ends with SUFFIX) reads from --fault as the hook it
    names: an ``@`` right after a colon starts an argument, anywhere else a trigger."""
    spec = read("orchestration/inventory:bug:ReleaseStock:@-0007")
    assert spec.trigger is None and spec.args == ("ReleaseStock", "@-0007")
    built = with_faults(SCENARIOS["happy-path"], [spec]).faults["orchestration"]["inventory"]
    assert built == ("bug:ReleaseStock:@-0007",)
    assert read("payment:kill:2@PaymentCharged#2").trigger == Trigger("PaymentCharged", 2)
