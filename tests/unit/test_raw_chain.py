"""The raw chain's routes: one queue per role, under the namespace, with the sagas' queue arguments."""

from __future__ import annotations

from shared.transport.raw_chain import Chain
from shared.transport.topology import Topology


def test_chain_queues_are_namespaced_and_one_per_role() -> None:
    """Roles appear once each, in route order, with queue names under the namespace."""
    chain = Chain("x", ("a", "b", "a", "c", "a"))
    assert chain.roles == ("a", "b", "c") and chain.hops == 5
    assert chain.queue(Topology("ns"), "b") == "ns.raw-x.b"
    assert Topology("ns").queue_arguments_for(chain.spec("b"))["x-queue-type"] == "quorum"
