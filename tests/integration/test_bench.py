"""A small ``sagalab bench`` end to end: it completes, every order is consistent, every figure is there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.broker

HOPS = {"choreography": 5, "orchestration": 7}
PROCESSES = {"choreography": {"orders", "payment", "inventory", "shipping"},
             "orchestration": {"orchestrator", "payment", "inventory", "shipping"}}  # fmt: skip


def bench(amqp_url: str, namespace: str, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    out = subprocess.run(
        [sys.executable, "-m", "sagalab.cli", "bench", *args, "--json", str(tmp_path / "b.json"),
         "--out", str(tmp_path / "runs"), "--amqp-url", amqp_url, "--namespace", namespace],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return out, json.loads((tmp_path / "b.json").read_text())


def test_a_small_bench_of_both_modes_is_consistent_and_reports_every_ratio(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """40 orders at C=10 with 10% out of stock: zero violations, 36 completed and 4 compensated per mode, ratios present."""
    out, data = bench(amqp_url, namespace, tmp_path, "--mode", "both", "--orders", "40", "--concurrency", "10",
                      "--failure-rate", "0.1")  # fmt: skip
    assert data["ok"] is True and data["machine"]["cores"] >= 1 and data["commit"]
    assert "throughput ratio" in out.stdout
    for mode, hops in HOPS.items():
        m = data["modes"][mode]
        raw, saga = m["raw"], m["saga"]
        assert raw["kind"] == "raw" and raw["hops"] == hops and raw["settled"] == 40 and raw["verdict"]["ok"]
        assert saga["verdict"] | {"violations": []} == saga["verdict"] and saga["verdict"]["ok"]
        assert (saga["verdict"]["completed"], saga["verdict"]["compensated"]) == (36, 4)
        assert saga["messages_per_order"] == hops == raw["messages_per_order"]
        for run in (raw, saga):
            assert run["throughput_per_s"] > 0 and set(run["latency_ms"]) == {"p50", "p95", "p99"}
            assert PROCESSES[mode] | {"driver", "machine", "other"} <= set(run["cpu_s"])
            assert len(run["growth"]["tenths_per_s"]) == 10 and set(run["growth"]["rss"]) == PROCESSES[mode]
        assert m["throughput_ratio"] > 0 and m["latency_ratio"] > 0
        assert [(t["name"], t["met"]) for t in m["targets"]] == [("throughput ratio", None), ("p50 latency ratio", None)]


@pytest.mark.slow  # replicas are run in the default set by tests/integration/test_replicas.py
def test_two_instances_per_service_share_the_work_consistently(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """--instances 2: two processes per service and per relay are started and measured, with no violation."""
    _, data = bench(amqp_url, namespace, tmp_path, "--mode", "orchestration", "--orders", "40", "--concurrency",
                    "10", "--instances", "2")  # fmt: skip
    m = data["modes"]["orchestration"]
    assert data["ok"] and data["instances"] == 2 and m["saga"]["verdict"]["completed"] == 40
    for run in (m["raw"], m["saga"]):
        names = {n for n in run["cpu_s"] if n.split(".")[0] in PROCESSES["orchestration"]}
        assert names == PROCESSES["orchestration"] | {f"{p}.1" for p in PROCESSES["orchestration"]}
