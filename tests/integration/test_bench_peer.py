"""``sagalab bench --peer`` end to end: the peer engine runs the same 300 orders in the same run and its
figures sit beside the mode's (slow: it installs the peer in its own venv on first use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_bench import bench

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_the_peer_engine_runs_the_same_orders_in_the_same_bench(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """300 orders at C=20 with 10% out of stock: 270 SUCCEEDED and 30 FAILED on the peer, its engine CPU
    counted, its queues gone afterwards, and the comparison line printed."""
    out, data = bench(amqp_url, namespace, tmp_path, "--mode", "orchestration", "--orders", "300", "--concurrency", "20",
                      "--failure-rate", "0.1", "--peer")  # fmt: skip
    peer = data["peers"]["asl"]
    assert peer["kind"] == "peer" and peer["settled"] == 300 and peer["verdict"]["ok"]
    assert (peer["verdict"]["completed"], peer["verdict"]["compensated"]) == (270, 30)
    assert peer["throughput_per_s"] > 0 and peer["latency_ms"]["p50"] > 0 and peer["cpu_s"]["engine"] > 0
    assert len(peer["growth"]["tenths_per_s"]) == 10 and set(peer["growth"]["rss"]) == {"engine", "workers"}
    assert "orchestration / peer: asl engine: throughput" in out.stdout
