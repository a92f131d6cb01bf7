"""Fault specs as `sagalab serve --fault` reads them, and what a restarted process keeps of them."""

from __future__ import annotations

import pytest

from scenarios.checks import parked_on_purpose as _parked_on_purpose
from scenarios.result import ViolationOut
from shared.domain.contracts import ReleaseStock
from shared.runtime.faults import Faults, FaultSpecError, parse, persistent


def test_a_bug_tied_to_an_order_fails_every_delivery_of_that_order_only() -> None:
    """``bug:TYPE:@SUFFIX`` strikes every delivery of TYPE for the orders whose id ends with SUFFIX, and
    nothing else: a bug in the data, which no retry or restart gets past."""
    faults = Faults.of(["bug:ReleaseStock:@-0007"])
    broken = ReleaseStock(correlation_id="ord-ab-0007", order_id="ord-ab-0007")
    for _ in range(3):
        with pytest.raises(Exception, match="always fails") as raised:
            faults.check(broken)
        assert type(raised.value).__name__ == "HandlerBug"
    faults.check(ReleaseStock(correlation_id="ord-ab-0008", order_id="ord-ab-0008"))


def test_only_data_bugs_survive_a_restart() -> None:
    """A restarted process keeps ``bug:TYPE:@SUFFIX`` (the data is the same) and drops one-off faults."""
    assert persistent("bug:ShipmentFailed:@-0003")
    assert not any(persistent(s) for s in ("bug:ReleaseStock", "bug:ReleaseStock:2", "crash:after-commit:X",
                                            "raise:X:2", "delay:X:1"))  # fmt: skip
    with pytest.raises(FaultSpecError):
        parse("bug:ReleaseStock:@")


def test_a_broken_compensation_may_leave_only_its_stock_and_a_named_parking() -> None:
    """What an order whose release is broken on purpose may show: stock held and a parking that names the
    step; never a money rule, never another order, never a parking without the step."""
    suffixes = ("-0007",)
    assert _parked_on_purpose(ViolationOut(order_id="o-0007", rule="stock.left-behind", detail="1 reserved"), suffixes)
    named = "parked: ReleaseStock failed: HandlerBug: injected bug"
    assert _parked_on_purpose(ViolationOut(order_id="o-0007", rule="termination.needs-attention", detail=named),
                              suffixes)  # fmt: skip
    assert not _parked_on_purpose(ViolationOut(order_id="o-0007", rule="termination.needs-attention",
                                               detail="parked: no event for 20 s"), suffixes)  # fmt: skip
    assert not _parked_on_purpose(ViolationOut(order_id="o-0007", rule="money.net", detail="charged"), suffixes)
    assert not _parked_on_purpose(ViolationOut(order_id="o-0008", rule="stock.left-behind", detail="1"), suffixes)
