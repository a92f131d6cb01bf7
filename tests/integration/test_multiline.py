"""Orders of several lines in both modes, over the real broker: the lines reserved are exactly the lines released
when one is out of stock, a race for the last unit has one winner, and a line's step happens once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker

MODES = ("choreography", "orchestration")


def _compare(scenario: str, tmp_path: Path, amqp_url: str, namespace: str, *extra: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "compare", scenario, *extra,
                          "--json", str(tmp_path / "out.json"), "--out", str(tmp_path / "run"),
                          "--amqp-url", amqp_url, "--namespace", namespace],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads((tmp_path / "out.json").read_text())


def _lines(tmp_path: Path, mode: str) -> dict[int, tuple[str, str]]:
    """The one order's reservation rows: line -> (sku, status)."""
    with sqlite3.connect(tmp_path / "run" / mode / "data" / "inventory.db") as db:
        return {line: (sku, status) for line, sku, status in db.execute(
            "SELECT line, sku, status FROM reservation_lines WHERE sku != ''")}  # fmt: skip


def test_the_third_of_four_lines_out_of_stock_releases_exactly_the_lines_reserved(
        tmp_path: Path, amqp_url: str, namespace: str) -> None:  # fmt: skip
    """Choreography reserves line by line and stops at the third: lines 1 and 2 go back, latest first, line 4 is
    never touched. Orchestration reserves all four at once: lines 1, 2 and 4 go back, one release each."""
    result = _compare("line-out-of-stock", tmp_path, amqp_url, namespace)
    for mode in MODES:
        assert result[mode]["orders"]["compensated"] == 1 and result[mode]["consistency"]["ok"], mode
    assert _lines(tmp_path, "choreography") == {0: ("KEYBOARD", "released"), 1: ("MOUSE", "released")}
    assert _lines(tmp_path, "orchestration") == {
        0: ("KEYBOARD", "released"), 1: ("MOUSE", "released"), 3: ("DOCK", "released")}
    chor, orch = (result[m]["messages"]["by_type"] for m in MODES)
    assert (chor["StockReserved"], chor["StockReleased"]) == (2, 2)
    assert (orch["ReserveStock"], orch["StockReserved"], orch["ReleaseStock"]) == (4, 3, 3)
    assert result["choreography"]["messages"]["per_line"] == 9 / 4


@pytest.mark.slow
def test_two_orders_of_three_lines_race_for_the_last_dock(tmp_path: Path, amqp_url: str, namespace: str) -> None:
    result = _compare("multi-line-race", tmp_path, amqp_url, namespace)
    for mode in MODES:
        assert result[mode]["orders"]["completed"] == 1 and result[mode]["orders"]["compensated"] == 1, mode
        assert result[mode]["consistency"]["ok"], result[mode]["consistency"]


def test_a_line_reserve_sent_again_under_a_new_id_reserves_nothing_more(
        tmp_path: Path, amqp_url: str, namespace: str) -> None:  # fmt: skip
    """The business key is per line: the second line's reserve again under a new message id is answered with the
    first outcome (the oracle would see stock held twice otherwise), the other lines go on as usual."""
    result = _compare("multi-line", tmp_path, amqp_url, namespace, "--orders", "1",
                      "--fault", "choreography/lab:duplicate:StockReserved:1:id=fresh",
                      "--fault", "orchestration/lab:duplicate:ReserveStock:2:id=fresh")  # fmt: skip
    for mode in MODES:
        assert result[mode]["orders"]["completed"] == 1 and result[mode]["consistency"]["ok"], mode
        assert result[mode]["defences"]["business_key_answers"] >= 1, result[mode]["defences"]
