"""What a terminal (or a pipe) shows after a run: violations one line per order, money as money, and times
named for what they measure."""

from __future__ import annotations

import io

from rich.console import Console

from sagalab.compare import VIOLATION_LINES, render
from scenarios.result import RunResult
from shared.domain.contracts import money


def _result(violations: list[dict[str, str]], **fields: object) -> RunResult:
    return RunResult.model_validate({
        "scenario": "s", "mode": "choreography", "seed": 1, "orders": {"total": 1},
        "consistency": {"ok": not violations, "violations": violations},
        "messages": {"total": 0, "per_order": 0, "by_type": {}, "dead_lettered": 0},
        "latency_ms": {}, "duration_s": 0.06, "settled": True, "expectation_met": True, **fields,
    })  # fmt: skip


def _printed(result: RunResult, width: int = 80) -> list[str]:
    out = io.StringIO()
    render([result], Console(file=out, width=width, color_system=None))
    return out.getvalue().splitlines()


def test_amounts_read_as_money() -> None:
    assert (money(4999), money(-4999), money(0), money(123456789)) == ("49.99 EUR", "-49.99 EUR", "0.00 EUR",
                                                                        "1,234,567.89 EUR")  # fmt: skip


def test_violations_are_one_unwrapped_unmarked_line_per_order_even_in_a_narrow_pipe() -> None:
    """Two rules broken by one order make one line, never cut at 80 columns, and a detail that looks like
    markup is printed as written."""
    result = _result([
        {"order_id": "ord-abc-0000", "rule": "money.refund-exceeds-charge", "detail": "refunded 99.98 EUR of 49.99 EUR charged"},
        {"order_id": "ord-abc-0000", "rule": "money.net", "detail": "compensated but net charged -49.99 EUR [bold]x[/]"},
    ])  # fmt: skip
    lines = [line for line in _printed(result) if "violation" in line and "ord-abc" in line]
    assert lines == ["choreography violation ord-abc-0000: money.refund-exceeds-charge: refunded 99.98 EUR of 49.99 "
                     "EUR charged; money.net: compensated but net charged -49.99 EUR [bold]x[/]"]  # fmt: skip


def test_many_orders_with_violations_are_bounded_with_a_count() -> None:
    result = _result([{"order_id": f"o-{i}", "rule": "money.net", "detail": "x"} for i in range(VIOLATION_LINES + 5)])
    lines = [line for line in _printed(result, 200) if line.startswith("choreography ")]
    assert len(lines) == VIOLATION_LINES and lines[-1].startswith("choreography ... and 6 more orders")


def test_the_time_rows_say_what_they_measure() -> None:
    """The saga span is not what the user waited: set-up and the whole run are shown apart."""
    table = "\n".join(_printed(_result([], setup_s=2.4, run_s=3.9), 120))
    assert "saga span" in table and "0.06 s" in table and "2.4 s / 3.9 s" in table and "wall time" not in table
