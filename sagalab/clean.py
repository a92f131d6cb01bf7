"""``sagalab clean``: remove everything a namespace declared on the broker, its service users, and its local
service data.

The names come from the same topology code that declares them (both modes, every orchestrator instance,
the tap, the dead-letter queue, the samples' participant, the bench's raw chains); when RabbitMQ's
management API answers, it adds the namespace's names the code cannot list: a participant's queue
``<ns>.<participant>`` and the per-instance reply queues older versions declared. Names are matched exactly, never by
the prefix ``<ns>.``: namespace ``X.victim`` lives under that prefix too, and cleaning ``X`` must not touch it.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from pathlib import Path

from yarl import URL

from sagalab.bench.relay import CHAINS
from scenarios import users
from scenarios.topologies import queue_specs
from shared.config import MODES, sagalab_home
from shared.transport.broker import Broker
from shared.transport.failover import primary_url, split_urls
from shared.transport.topology import EXCHANGE_KINDS, QueueSpec, Topology

MAX_INSTANCES = 8
"""Orchestrator instances beyond the first once replied on ``<ns>.orchestrator.replies.<n>`` (before replicas
shared one reply queue); a namespace those versions used may still hold such queues."""


def _legacy_replies(n: int) -> QueueSpec:
    return QueueSpec("orchestrator", (), suffix=f"replies.{n}")


def known_queues(topology: Topology) -> list[str]:
    """Every queue name sagalab may declare in a namespace."""
    specs: list[QueueSpec] = [spec for mode in MODES for spec in queue_specs(mode)]
    specs += [_legacy_replies(i) for i in range(1, MAX_INSTANCES + 1)]
    specs.append(QueueSpec("lambdas", ()))
    names = {topology.queue(spec) for spec in specs}
    names |= {chain.queue(topology, role) for chain in CHAINS.values() for role in chain.roles}
    return sorted(names | {topology.tap_queue, topology.dead_letter_queue})


def known_exchanges(topology: Topology) -> list[str]:
    return [topology.exchange(kind) for kind in EXCHANGE_KINDS] + [topology.dead_letter_exchange]


def belongs_to(name: str, namespace: str, known: set[str]) -> bool:
    """Whether a name the broker lists is this namespace's: one of its known names, a participant's queue
    ``<ns>.<word>``, or an older version's instance reply queue ``<ns>.orchestrator.replies.<n>``. A name of a
    namespace nested under this one (``<ns>.victim.payment``) has more words, so it never matches."""
    if name in known:
        return True
    rest = name.removeprefix(f"{namespace}.")
    return rest != name and (_PARTICIPANT.fullmatch(rest) is not None or _INSTANCE_REPLIES.fullmatch(rest) is not None)


_PARTICIPANT = re.compile(r"[A-Za-z0-9_-]+")
_INSTANCE_REPLIES = re.compile(r"orchestrator\.replies\.[1-9][0-9]*")


def shared_with_parent(namespace: str) -> str | None:
    """A name this namespace would share with a namespace it is nested in (``X.raw-choreography`` has a queue
    ``X.raw-choreography.inventory``, which is also ``X``'s bench queue): cleaning one would delete the
    other's. Returns the first such name, or None."""
    mine = set(known_queues(Topology(namespace))), set(known_exchanges(Topology(namespace)))
    words = namespace.split(".")
    for cut in range(1, len(words)):
        parent = Topology(".".join(words[:cut]))
        for names, theirs in zip(mine, (known_queues(parent), known_exchanges(parent)), strict=True):
            if shared := sorted(names & set(theirs)):
                return shared[0]
    return None


def listed_by_management(amqp_url: str, namespace: str, port: int = 15672) -> tuple[list[str], list[str]]:
    """The namespace's queues and exchanges the management API lists (empty if it is off), matched exactly
    (``belongs_to``)."""
    url = URL(primary_url(amqp_url))
    vhost = urllib.parse.quote(url.path[1:] or "/", safe="")
    auth = b64encode(f"{url.user or 'guest'}:{url.password or 'guest'}".encode()).decode()
    topology = Topology(namespace)
    known = {"queues": set(known_queues(topology)), "exchanges": set(known_exchanges(topology))}
    found: dict[str, list[str]] = {}
    for kind in ("queues", "exchanges"):
        request = urllib.request.Request(f"http://{url.host}:{port}/api/{kind}/{vhost}?columns=name",
                                         headers={"Authorization": f"Basic {auth}"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                rows = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return [], []
        found[kind] = [r["name"] for r in rows if belongs_to(str(r.get("name", "")), namespace, known[kind])]
    return found["queues"], found["exchanges"]


async def remove_users(amqp_url: str, namespace: str) -> int:
    """Delete the namespace's service users (``sagalab users``) when rabbitmqctl or the management API reach the broker."""
    admin = users.find_admin(amqp_url, http_first=True)
    return len(await users.remove(admin, namespace)) if admin is not None else 0


async def clean(amqp_url: str, namespace: str, data_root: Path | None = None) -> dict[str, int]:
    """Delete the namespace's queues and exchanges and its ``serve`` data; returns what was removed."""
    topology = Topology(namespace)
    # A cluster's management API and users are not where a single broker's are (port 15672, rabbitmqctl's own node):
    # over several URLs only what AMQP names is removed, and nothing is asked of another broker.
    cluster = len(split_urls(amqp_url)) > 1
    extra_queues, extra_exchanges = ([], []) if cluster else listed_by_management(amqp_url, namespace)
    queues = sorted(set(known_queues(topology)) | set(extra_queues))
    exchanges = sorted(set(known_exchanges(topology)) | set(extra_exchanges))
    broker = await Broker.connect(amqp_url, topology, "clean", declare=False)  # declaring would recreate them
    try:
        deleted_queues, deleted_exchanges = await broker.delete(queues, exchanges)
    finally:
        await broker.close()
    removed = {"queues": len(deleted_queues), "exchanges": len(deleted_exchanges), "data folders": 0,
               "users": 0 if cluster else await remove_users(amqp_url, namespace)}  # fmt: skip
    folder = (data_root or sagalab_home() / "serve") / namespace
    if folder.is_dir():
        shutil.rmtree(folder)
        removed["data folders"] = 1
    return removed
