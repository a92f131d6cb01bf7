"""Several AMQP URLs for a broker cluster: how they are read (``--amqp-url`` repeated or comma-joined, AMQP_URL),
which node each process tries first and in what order it fails over, the queue arguments on a cluster, the
kill-node fault's grammar, and the stall the result reports."""

from __future__ import annotations

import asyncio

import pytest
from yarl import URL

from sagalab.cli import main, parser
from scenarios.cluster_faults import KillNode, stall_s
from scenarios.fault_specs import BadFaultSpec, build
from scenarios.fault_specs import read as read_fault
from scenarios.topologies import services
from shared.transport.failover import BadAmqpUrl, FailoverConnection, failover_order, primary_url, split_urls
from shared.transport.topology import QueueSpec, Topology

A, B, C = (f"amqp://guest:guest@127.0.0.1:{port}/" for port in (5681, 5682, 5683))


def test_urls_are_read_from_a_comma_joined_string_in_order_without_duplicates() -> None:
    """Spaces around commas and empty items are ignored; a URL given twice counts once."""
    assert split_urls(f"{A}, {B},,{C},{A}") == (A, B, C)
    assert split_urls([A, f"{B},{C}"]) == (A, B, C)
    assert primary_url(f"{B},{A}") == B


@pytest.mark.parametrize("bad", ["", " , ", "http://127.0.0.1:15672/", "127.0.0.1:5672", f"{A},localhost"])
def test_a_bad_url_is_refused_with_its_reason(bad: str) -> None:
    with pytest.raises(BadAmqpUrl, match="AMQP URL"):
        split_urls(bad)


def test_amqp_url_repeated_on_the_command_line_joins_the_nodes_and_replaces_the_default() -> None:
    """``--amqp-url`` twice (one of them already comma-joined) gives the three nodes; none gives the default."""
    args = parser().parse_args(["compare", "out-of-stock", "--amqp-url", A, "--amqp-url", f"{B},{C}"])
    assert args.amqp_url == f"{A},{B},{C}"
    assert "," not in parser().parse_args(["compare", "out-of-stock"]).amqp_url


def test_amqp_url_from_the_environment_may_name_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", f"{A},{B}")
    assert parser().parse_args(["compare", "out-of-stock"]).amqp_url == f"{A},{B}"


def test_a_bad_amqp_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["compare", "out-of-stock", "--amqp-url", f"{A},http://x/"])
    assert exited.value.code == 2
    assert "not an AMQP URL" in capsys.readouterr().err


def test_failover_order_is_a_rotation_stable_per_process_and_spread_over_the_nodes() -> None:
    """Each process tries every node once, starting at its own (the same every time it starts), and the services
    of a run do not all start on one node."""
    urls = (A, B, C)
    for sender in ("payment", "inventory", "shipping", "orchestrator", "orders", "runner"):
        order = failover_order(urls, sender)
        assert sorted(order) == sorted(urls) and order == failover_order(urls, sender)
        start = urls.index(order[0])
        assert order == urls[start:] + urls[:start]  # round the cluster in its order
    for mode in ("choreography", "orchestration"):  # on three nodes, each node carries some service of each mode
        assert {failover_order(urls, s)[0] for s in services(mode)} == set(urls), mode
    assert failover_order((A,), "payment") == (A,)


def test_a_lost_connection_moves_on_to_the_next_node_and_round() -> None:
    """The URL the next reconnection uses goes round the cluster from where the connection was."""

    async def urls_after_losses() -> list[str]:
        connection = FailoverConnection(URL(B), urls=(B, C, A))
        return [str(connection.next_url()) for _ in range(4)]

    assert asyncio.run(urls_after_losses()) == [C, A, B, C]


def test_on_a_cluster_every_queue_is_a_quorum_queue_on_every_node() -> None:
    """Service queues get a member per node; the tap and dead letters become quorum queues too (a classic queue
    dies with its node). On one broker nothing changes."""
    spec = QueueSpec("payment", ())
    single, cluster = Topology("ns"), Topology("ns", replicas=3)
    assert "x-quorum-initial-group-size" not in single.queue_arguments_for(spec)
    assert single.side_queue_arguments() == {}
    assert cluster.queue_arguments_for(spec)["x-quorum-initial-group-size"] == 3
    assert cluster.side_queue_arguments() == {"x-queue-type": "quorum", "x-quorum-initial-group-size": 3}
    assert "x-quorum-initial-group-size" not in cluster.queue_arguments_for(QueueSpec("reply", (), durable=False))


def test_kill_node_reads_the_node_its_downtime_and_its_trigger() -> None:
    injector = build(read_fault("broker:kill-node:2:3@PaymentCharged#10"))
    assert isinstance(injector, KillNode)
    assert (injector.node, injector.down_s, injector.when.after, injector.when.nth) == (2, 3.0, "PaymentCharged", 10)
    assert build(read_fault("broker:kill-node:1@+2")).down_s == 5.0  # type: ignore[union-attr]
    for bad in ("broker:kill-node@+1", "broker:kill-node:0@+1", "broker:kill-node:x@+1", "payment:kill-node:1"):
        with pytest.raises(BadFaultSpec):
            build(read_fault(bad))


def test_stall_is_the_longest_gap_in_traffic_from_just_before_the_kill() -> None:
    """Gaps before the last message preceding the kill do not count; the one across the kill does."""
    times = [0.0, 5.0, 5.1, 5.2, 9.0, 9.1, 9.3]
    assert stall_s(times, since=5.3) == 3.8  # 5.2 -> 9.0
    assert stall_s(times, since=None) is None  # nothing killed: no figure
    assert stall_s(times, since=10.0) == 0.0  # the traffic was over
    assert stall_s([1.0, 1.5], since=0.0) == 1.0  # from the kill to the first message, then 0.5


def test_when_no_node_answers_the_error_names_every_url_tried() -> None:
    """Each URL is tried in turn; when none answers, BrokerUnavailable (exit 3) lists them all, passwords masked."""
    from shared.transport.broker import Broker, BrokerUnavailable

    dead = "amqp://guest:secret@127.0.0.1:1/,amqp://guest:secret@127.0.0.1:2/"
    with pytest.raises(BrokerUnavailable) as refused:
        asyncio.run(Broker.connect(dead, Topology("ns"), "payment", timeout=5))
    message = str(refused.value)
    assert "127.0.0.1:1/" in message and "127.0.0.1:2/" in message and "secret" not in message


def test_over_a_cluster_nothing_reaches_for_the_machines_own_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare rabbitmqctl, or the management API on port 15672, would reach the machine's own broker, not the
    cluster's: neither is used over several URLs (restart faults need SAGALAB_RABBITMQCTL; users are refused)."""
    from scenarios.broker_control import BrokerControl, BrokerControlUnavailable
    from scenarios.users import find_admin, require_admin

    monkeypatch.delenv("SAGALAB_RABBITMQCTL", raising=False)
    cluster = f"{A},{B},{C}"
    assert BrokerControl.find(cluster) is None
    with pytest.raises(BrokerControlUnavailable, match="SAGALAB_RABBITMQCTL"):
        BrokerControl.require(cluster)
    assert find_admin(cluster) is None
    with pytest.raises(BrokerControlUnavailable, match="cluster"):
        require_admin(cluster)
    monkeypatch.setenv("SAGALAB_RABBITMQCTL", "scripts/cluster.sh ctl 1")
    assert BrokerControl.find(cluster) == BrokerControl(("scripts/cluster.sh", "ctl", "1"))
