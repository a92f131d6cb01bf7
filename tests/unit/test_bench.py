"""The benchmark's pure parts: percentiles, ratios, targets, CPU parsing, order plans and the closed loop."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sagalab.bench.cpu import CpuSnapshot, cpu_used, parse_machine_busy, parse_process_cpu
from sagalab.bench.driver import Drive, SettledRows, drive
from sagalab.bench.measure import CpuTenths, ProcessDied
from sagalab.bench.plan import OUT_OF_STOCK_SKU, bench_orders, expected_outcome, failing_indexes
from sagalab.bench.relay import CHAINS
from sagalab.bench.result import Machine, RunFigures, Verdict
from sagalab.bench.sagas import HOPS
from sagalab.bench.stats import (
    latency_target,
    median,
    median_index,
    percentiles,
    ratio,
    throughput,
    throughput_target,
)
from sagalab.bench.view import disturbed
from sagalab.cli import parser

STAT = ("4242 (python3 -m (x) y) S 1 4242 4242 0 -1 4194304 1234 0 0 0 "
        "250 75 0 0 20 0 3 0 12345 1000000 5000 18446744073709551615")  # fmt: skip


def test_percentiles_are_inclusive_quantiles_in_milliseconds() -> None:
    """p50/p95/p99 of 1..100 ms read as sagalab run reports them; one sample is every percentile."""
    latency = percentiles([i / 1000 for i in range(1, 101)])
    assert (latency.p50, latency.p95, latency.p99) == (50.5, 95.05, 99.01)
    single = percentiles([0.0123])
    assert single.p50 == single.p95 == single.p99 == 12.3
    assert percentiles([]).p50 is None


def test_throughput_is_orders_over_the_span_from_first_placement_to_last_settlement() -> None:
    """100 orders over 4 s is 25 per second; no span, no figure."""
    assert throughput(100, 10.0, 14.0) == 25.0
    assert throughput(100, 10.0, 10.0) is None
    assert throughput(0, 10.0, 14.0) is None


def test_ratio_divides_by_the_bar_and_survives_missing_figures() -> None:
    """Saga over raw, rounded to three places; a missing side or a zero bar gives None."""
    assert ratio(70.0, 100.0) == 0.7
    assert ratio(2.0, 3.0) == 0.667
    assert ratio(None, 100.0) is None and ratio(70.0, None) is None and ratio(70.0, 0.0) is None


def test_median_of_repeated_ratios_and_the_run_that_stands_for_them() -> None:
    """Odd counts take the middle, even counts the mean of the middle two; missing ratios are skipped."""
    assert median([0.9, 0.5, 0.7]) == 0.7
    assert median([0.5, 0.7, None, 0.8, 0.6]) == 0.65
    assert median([None]) is None
    assert median_index([0.9, 0.5, 0.7]) == 2
    assert median_index([0.8, 0.6]) == 1 and median_index([None, None]) == 0


def test_targets_are_judged_only_where_the_issue_defines_them() -> None:
    """Throughput at C=100 with 10% failures, latency at C=1; elsewhere the check says n/a (None)."""
    assert throughput_target(0.71, 100, 0.1).met is True
    assert throughput_target(0.69, 100, 0.1).met is False
    assert throughput_target(0.9, 50, 0.1).met is None
    assert throughput_target(0.9, 100, 0.0).met is None
    assert latency_target(1.3, 1).met is True
    assert latency_target(1.31, 1).met is False
    assert latency_target(1.0, 100).met is None
    assert throughput_target(None, 100, 0.1).met is False


def test_process_cpu_counts_user_and_system_ticks_after_a_command_name_with_parentheses() -> None:
    """utime 250 + stime 75 ticks at 100 Hz is 3.25 s, whatever the command name holds."""
    assert parse_process_cpu(STAT, ticks=100) == 3.25


def test_machine_busy_excludes_idle_and_iowait_and_reports_steal_apart() -> None:
    """Busy is user+nice+system+irq+softirq of the aggregate cpu line; steal comes separately."""
    stat = "cpu  100 10 50 9000 40 5 6 7 0 0\ncpu0 50 5 25 4500 20 2 3 3 0 0\n"
    assert parse_machine_busy(stat, ticks=100) == pytest.approx(((100 + 10 + 50 + 5 + 6) / 100, 0.07))


def test_cpu_used_is_the_difference_and_other_is_the_machine_outside_the_listed_processes() -> None:
    """A process gone at the end reads None; ``other`` never goes negative; steal is reported apart."""
    before = CpuSnapshot({"a": 1.0, "b": 2.0, "gone": 1.0}, machine=(10.0, 1.0))
    after = CpuSnapshot({"a": 1.5, "b": 3.0, "gone": None}, machine=(12.0, 1.25))
    assert cpu_used(before, after) == {"a": 0.5, "b": 1.0, "gone": None, "machine": 2.0, "other": 0.5, "steal": 0.25}
    assert cpu_used(before, CpuSnapshot({"a": 9.0, "b": 9.0}, machine=(11.0, 1.0)))["other"] == 0.0


def test_failure_rate_sends_exactly_that_share_out_of_stock_seeded() -> None:
    """10% of 200 orders ask for the SKU with no stock, the same ones for the same seed."""
    orders = bench_orders(200, 0.1, seed=3, run_token="t")
    failing = [o for o in orders if o.lines[0].sku == OUT_OF_STOCK_SKU]
    assert len(failing) == 20 and len({o.order_id for o in orders}) == 200
    assert failing_indexes(200, 0.1, 3) == failing_indexes(200, 0.1, 3)
    assert {expected_outcome(o) for o in failing} == {"compensated"}
    assert failing_indexes(10, 0.0, 1) == set() and len(failing_indexes(10, 1.0, 1)) == 10


def test_raw_chains_have_each_modes_hops_and_four_processes() -> None:
    """5 messages over 4 processes for choreography, 7 for orchestration, ending where they began."""
    for mode, chain in CHAINS.items():
        assert chain.hops == HOPS[mode]
        assert len(chain.roles) == 4
        assert chain.route[0] == chain.route[-1]


def _orders_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE orders (order_id TEXT PRIMARY KEY, placed_at REAL, settled_at REAL)")
    return conn


def test_settled_rows_reports_each_settled_order_once_even_if_committed_slightly_out_of_order(tmp_path: Path) -> None:
    """A row whose timestamp is a little older than the newest seen is still found, and never twice."""
    conn = _orders_db(tmp_path / "o.db")
    feed = SettledRows(tmp_path / "o.db")
    conn.execute("INSERT INTO orders VALUES ('a', 1, 100.0), ('p', 1, NULL)")
    assert feed.poll() == [("a", 100.0)]
    conn.execute("INSERT INTO orders VALUES ('b', 1, 99.95)")  # another process's earlier timestamp
    assert feed.poll() == [("b", 99.95)]
    assert feed.poll() == []
    feed.close()


def test_settled_rows_waits_for_a_database_that_does_not_exist_yet(tmp_path: Path) -> None:
    """No file, no table: nothing settled yet, no error."""
    assert SettledRows(tmp_path / "missing.db").poll() == []


async def test_drive_keeps_concurrency_orders_in_flight_and_places_one_more_per_settlement(tmp_path: Path) -> None:
    """A fake system settles whatever is placed; the driver never has more than C unsettled, and ends complete."""
    conn = _orders_db(tmp_path / "o.db")
    in_flight: set[str] = set()
    most = 0

    async def place(order_id: str) -> None:
        nonlocal most
        in_flight.add(order_id)
        most = max(most, len(in_flight))

    class Feed(SettledRows):
        def poll(self) -> list[tuple[str, float]]:
            for order_id in sorted(in_flight)[:2]:  # the system settles two per poll
                conn.execute("INSERT INTO orders VALUES (?, 0, ?)", (order_id, 1.0))
                in_flight.discard(order_id)
            return super().poll()

    ids = [f"o{i:03d}" for i in range(25)]
    settled: list[int] = []
    result = await drive(ids, place, Feed(tmp_path / "o.db"), concurrency=5, deadline_s=10, on_settled=settled.append,
                         poll_s=0.0)  # fmt: skip
    assert result.complete and sum(settled) == 25
    assert most <= 5
    assert set(result.placed_at) == set(ids)


async def test_drive_stops_at_the_deadline_when_nothing_settles(tmp_path: Path) -> None:
    """A system that never settles: the driver gives up at its deadline with the orders unsettled."""
    async def place(order_id: str) -> None:
        return None

    result = await drive(["a", "b"], place, SettledRows(tmp_path / "none.db"), 2, deadline_s=0.05, poll_s=0.01)
    assert not result.complete and result.settled_at == {} and len(result.placed_at) == 2


async def test_drive_raises_when_placing_fails(tmp_path: Path) -> None:
    """A placement the broker refused ends the drive with that error, not a silent stall."""
    async def place(order_id: str) -> None:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        await drive(["a"], place, SettledRows(tmp_path / "none.db"), 1, deadline_s=5, poll_s=0.0)


def test_cpu_per_saga_is_read_at_each_tenth_of_the_settled_orders() -> None:
    """Ten tenths however the settlements come in, each tenth's CPU over its own orders (a poll that passes
    two marks leaves the second tenth unknown rather than guessed)."""
    seen: list[int] = []
    tenths = CpuTenths({"me": os.getpid()}, 40, seen.append)
    for n in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 1]:  # 40 in all, in polls of uneven size
        tenths.settled(n)
    per_saga = tenths.per_saga()
    assert sum(seen) == 40
    assert len(per_saga) == 10 and all(v is None or v >= 0 for v in per_saga)
    assert per_saga[0] is not None and per_saga[-1] is not None


def test_drive_latency_is_settled_minus_placed() -> None:
    """Latency per order and throughput come from the driver's placements and the table's settlements."""
    run = Drive(placed_at={"a": 10.0, "b": 10.5}, settled_at={"a": 10.2, "b": 11.0}, total=2)
    assert sorted(round(x, 3) for x in run.latencies_s) == [0.2, 0.5]
    assert run.throughput == 2.0 and run.complete



async def test_drive_ends_early_when_the_check_finds_a_dead_process(tmp_path: Path) -> None:
    """The per-poll check raising (a service died) ends the drive at once instead of at the deadline."""
    async def place(order_id: str) -> None:
        return None

    def check() -> None:
        raise ProcessDied("payment exited")

    with pytest.raises(ProcessDied):
        await drive(["a"], place, SettledRows(tmp_path / "none.db"), 1, deadline_s=60, poll_s=0.0, check=check)


def test_a_run_sharing_the_machine_with_other_work_is_flagged() -> None:
    """Other processes plus steal above a fifth of the busy CPU marks the run as disturbed."""
    def run(**cpu: float | None) -> RunFigures:
        return RunFigures(kind="raw", mode="m", hops=5, orders=1, settled=1, concurrency=1, instances=1,
                          throughput_per_s=1.0, latency_ms=percentiles([0.01]), wall_s=1.0, messages_per_order=5,
                          cpu_s=cpu, verdict=Verdict(ok=True))  # fmt: skip

    assert disturbed(run(machine=10.0, other=1.5, steal=1.0))
    assert not disturbed(run(machine=10.0, other=1.0, steal=0.5))
    assert not disturbed(run())


def test_the_bench_measures_the_fast_transport_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and every other command run the plain transport; the bench measures the fast one by default (where
    it earns its place), says so in its figures, and takes --transport plain or SAGALAB_TRANSPORT."""
    monkeypatch.delenv("SAGALAB_TRANSPORT", raising=False)
    assert parser().parse_args(["bench"]).transport == "fast"
    assert parser().parse_args(["bench", "--transport", "plain"]).transport == "plain"
    monkeypatch.setenv("SAGALAB_TRANSPORT", "plain")
    assert parser().parse_args(["bench"]).transport == "plain"
    assert Machine(cores=2, broker="RabbitMQ").transport == "plain"


def test_peer_targets_are_judged_where_issue_15_sets_them() -> None:
    """The ASL engine at light (orchestration only), Temporal and DBOS at strict; elsewhere nothing is judged."""
    from types import SimpleNamespace

    from sagalab.bench.tenths_view import peer_target

    def run(durability: str, concurrency: int) -> Any:
        return SimpleNamespace(machine=SimpleNamespace(durability=durability), concurrency=concurrency)

    engine, dbos = "peer: asl engine", "peer: dbos"
    assert peer_target(run("strict", 100), "orchestration", engine, 0.6, 1.5, (3.3, 2.7)) is None
    assert peer_target(run("light", 100), "choreography", engine, 0.6, 1.5, (1.3, 2.7)) is None
    light = peer_target(run("light", 100), "orchestration", engine, 1.1, 1.5, (3.3, 2.7))
    assert light is not None and "throughput >= 1.0x met" in light and "CPU <= the engine's NOT met" in light
    assert "NOT met" in (peer_target(run("light", 1), "orchestration", engine, 1.0, 1.2, (3.0, 2.7)) or "")
    assert "ahead in throughput met" in (peer_target(run("strict", 100), "choreography", dbos, 4.1, 1.0, (1, 9)) or "")
    assert "ahead in p50 NOT met" in (peer_target(run("strict", 1), "orchestration", dbos, 2.0, 1.1, (1, 9)) or "")
    assert peer_target(run("light", 100), "orchestration", dbos, 4.1, 1.0, (1, 9)) is None


def test_the_broker_is_the_rabbitmq_node_listening_on_the_urls_port(tmp_path: Path) -> None:
    """Two nodes on the machine (the machine's broker and a bench's own): the one serving the URL's port is measured."""
    from sagalab.bench.cpu import find_broker_pid

    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    listen = "   0: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0        0 {inode} 1\n"
    (tmp_path / "net" / "tcp").write_text(header + listen.format(port=5672, inode=111) + listen.format(port=5691, inode=222))
    for pid, inode in ((40, 111), (50, 222)):
        node = tmp_path / str(pid)
        (node / "fd").mkdir(parents=True)
        (node / "comm").write_text("beam.smp\n")
        (node / "cmdline").write_bytes(b"/usr/lib/erlang/bin/beam.smp\0-s\0rabbit\0boot\0")
        (node / "fd" / "7").symlink_to(f"socket:[{inode}]")
    assert find_broker_pid("amqp://guest:guest@127.0.0.1:5691/", tmp_path) == 50
    assert find_broker_pid("amqp://guest:guest@127.0.0.1/,amqp://guest:guest@127.0.0.1:5691/", tmp_path) == 40
    assert find_broker_pid("amqp://guest:guest@127.0.0.1:5999/", tmp_path) is None
    assert find_broker_pid(None, tmp_path) in (40, 50)
