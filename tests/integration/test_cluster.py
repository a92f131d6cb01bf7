"""A real three-node RabbitMQ cluster on this machine (``scripts/cluster.sh``, started here and stopped afterwards,
on ports and node names of its own): it forms, every queue of a run has a member on each node, a saga runs over
the cluster's URLs, and a node killed -9 mid-run loses nothing (both modes, both transports) while the result says
how long the sagas stalled. ``pytest -m cluster``; 6.5 to 9 minutes on a loaded two-core machine."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagalab.clean import clean
from shared.transport.failover import split_urls

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
MODES = ("choreography", "orchestration")


@pytest.fixture(scope="module")
def cluster_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-node cluster of the tests' own (node names sagalab-t1..3, AMQP ports 5684-5686), stopped and removed
    whatever happens. The variables stay set for the run, so the kill-node fault drives this same cluster."""
    own = {"SAGALAB_CLUSTER_NAME": "sagalab-t", "SAGALAB_CLUSTER_PORT": "5684",
           "SAGALAB_CLUSTER_DIR": str(tmp_path_factory.mktemp("cluster"))}  # fmt: skip
    saved = {k: os.environ.get(k) for k in own}
    os.environ.update(own)
    try:
        started = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
        assert started.returncode == 0, started.stdout + started.stderr
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=300)
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture
def cluster_namespace(cluster_urls: str, tmp_path: Path) -> Iterator[str]:
    ns = f"t-{uuid.uuid4().hex[:10]}"
    yield ns
    asyncio.run(clean(cluster_urls, ns, data_root=tmp_path))


def ctl(*args: str) -> str:
    out = subprocess.run([str(SCRIPT), "ctl", "1", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def compare(tmp_path: Path, urls: str, namespace: str, scenario: str, *args: str,
            env: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """``sagalab compare`` over the cluster, each node given as its own ``--amqp-url``."""
    nodes = [w for url in split_urls(urls) for w in ("--amqp-url", url)]
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "compare", scenario, *nodes, *args, "--namespace",
                          namespace, "--out", str(tmp_path / "run"), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})})  # fmt: skip
    assert out.returncode in (0, 1), out.stdout + out.stderr
    return json.loads((tmp_path / "r.json").read_text())  # type: ignore[no-any-return]


def test_the_cluster_forms_and_a_saga_over_it_has_every_queue_on_every_node(
    cluster_urls: str, cluster_namespace: str, tmp_path: Path
) -> None:
    """Three nodes run as one cluster; ``compare out-of-stock`` over their URLs compensates consistently in both
    modes, and every queue it declared (tap and dead letters included) is a quorum queue with three members."""
    assert len(split_urls(cluster_urls)) == 3
    running = json.loads(ctl("-q", "cluster_status", "--formatter", "json"))["running_nodes"]
    assert sorted(running) == [f"sagalab-t{n}@localhost" for n in (1, 2, 3)]
    data = compare(tmp_path, cluster_urls, cluster_namespace, "out-of-stock")
    for mode in MODES:
        result = data[mode]
        assert result["consistency"]["ok"] and result["orders"]["compensated"] == 1, result
        assert result["expectation_met"] and result["stall_s"] is None, result
    queues = [q for q in json.loads(ctl("-q", "list_queues", "name", "type", "members", "--formatter", "json"))
              if q["name"].startswith(f"{cluster_namespace}.")]  # fmt: skip
    assert {f"{cluster_namespace}.tap", f"{cluster_namespace}.dead-letters", f"{cluster_namespace}.payment"} <= {
        q["name"] for q in queues}
    for queue in queues:
        assert queue["type"] == "quorum" and len(queue["members"]) == 3, queue


@pytest.mark.parametrize(("node", "transport"), [(1, "plain"), (2, "fast")])
def test_a_node_killed_mid_run_loses_nothing_and_the_stall_is_reported(
    cluster_urls: str, cluster_namespace: str, tmp_path: Path, node: int, transport: str
) -> None:
    """``broker:kill-node``: node 1 (the coordinators start there) or node 2 (payment and shipping) is killed -9
    after the eighth charge and started again. Its clients fail over to another node and its queues keep a
    majority: every saga completes in both modes, charged once, nothing dead-lettered, and the result says how
    long the traffic stopped."""
    orders = 30
    data = compare(tmp_path, cluster_urls, cluster_namespace, "happy-path", "--orders", str(orders),
                   "--fault", f"broker:kill-node:{node}:3@PaymentCharged#8", env={"SAGALAB_TRANSPORT": transport})  # fmt: skip
    for mode in MODES:
        result = data[mode]
        assert result["extra"]["faults_injected"] == {f"broker node {node} killed": 1}, result["extra"]
        assert result["settled"] and result["consistency"]["ok"], result["consistency"]
        assert result["orders"]["completed"] == orders and result["orders"]["stuck"] == 0, result["orders"]
        assert result["messages"]["dead_lettered"] == 0
        assert result["stall_s"] is not None and result["stall_s"] > 0, result["stall_s"]
    running = json.loads(ctl("-q", "cluster_status", "--formatter", "json"))["running_nodes"]
    assert len(running) == 3  # the killed node is back
