"""A broker cluster's own fault: kill -9 one node mid-run and bring it back (``broker:kill-node:N``), and how long
the saga traffic stalled around it.

The nodes are killed and started by a command prefix that takes ``kill N`` and ``start-node N``:
``SAGALAB_CLUSTER_CONTROL`` (e.g. a script that runs ``docker kill``/``docker start`` for a compose cluster), else
the repository's ``scripts/cluster.sh`` (the local three-node cluster).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import structlog

from scenarios.broker_control import BrokerControlUnavailable
from scenarios.injectors import Trigger
from scenarios.run_state import Run
from scenarios.scenario import Need
from shared.transport.failover import split_urls

log = structlog.get_logger()

CLUSTER_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cluster.sh"
KILLED_MARK = "node killed"
"""The ``Run.marks`` entry a node kill leaves: when it struck (epoch seconds), for ``stall_s``."""


@dataclass(frozen=True)
class ClusterControl:
    """Kills and starts the nodes of a broker cluster."""

    prefix: tuple[str, ...]

    @classmethod
    def find(cls) -> ClusterControl | None:
        if configured := os.environ.get("SAGALAB_CLUSTER_CONTROL"):
            return cls(tuple(shlex.split(configured)))
        return cls((str(CLUSTER_SCRIPT),)) if CLUSTER_SCRIPT.exists() else None

    @classmethod
    def require(cls) -> ClusterControl:
        control = cls.find()
        if control is None:
            raise BrokerControlUnavailable(
                "broker:kill-node needs a way to kill and start the cluster's nodes: run from the repository (its "
                "scripts/cluster.sh), or set SAGALAB_CLUSTER_CONTROL to a command taking 'kill N' and 'start-node N'"
            )
        return control

    async def run(self, *args: str, timeout_s: float = 240.0) -> None:
        proc = await asyncio.create_subprocess_exec(*self.prefix, *args, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(self.prefix + args)} failed: {out.decode(errors='replace')[-500:]}")

    async def kill(self, node: int) -> None:
        await self.run("kill", str(node))

    async def start(self, node: int) -> None:
        await self.run("start-node", str(node))


@dataclass(frozen=True)
class KillNode:
    """kill -9 one node of the broker cluster (no goodbye to its peers), keep it down, start it again. Its
    clients reconnect to another node; its quorum queues elect leaders among the two that are left."""

    needs: ClassVar[frozenset[Need]] = frozenset()
    node: int
    when: Trigger = Trigger()
    down_s: float = 5.0

    async def inject(self, run: Run) -> None:
        nodes = len(split_urls(run.options.amqp_url))
        if nodes < 2 or self.node > nodes:
            raise BrokerControlUnavailable(f"broker:kill-node:{self.node} needs a cluster of at least {self.node} "
                                           f"nodes, given as that many --amqp-url; this run has {nodes}")  # fmt: skip
        control = ClusterControl.require()
        await self.when.wait(run)
        log.warning("fault: killing a broker node", node=self.node)
        try:
            await control.kill(self.node)
            run.marks.setdefault(KILLED_MARK, time.time())
            run.count(f"broker node {self.node} killed")
            await asyncio.sleep(self.down_s)  # the outage itself
        finally:
            # Whatever happens to this task, never leave the node down.
            await asyncio.shield(control.start(self.node))


def stall_s(times: Iterable[float], since: float | None) -> float | None:
    """The longest stretch without a saga message from the last one before ``since`` (a node killed) to the last
    one of the run; None when nothing was killed. Times are when each message was published."""
    if since is None:
        return None
    ordered = sorted(times)
    before = [t for t in ordered if t <= since]
    after = [t for t in ordered if t > since]
    if not after:
        return 0.0
    points = [before[-1] if before else since, *after]
    return round(max(b - a for a, b in zip(points, points[1:], strict=False)), 3)
