"""``sagalab clean``: remove everything a namespace declared on the broker, its service users, and its local
service data.

The names come from the same topology code that declares them (both modes, every orchestrator instance,
the tap, the dead-letter queue, the samples' participant, the bench's raw chains); when RabbitMQ's
management API answers, anything else under the namespace's prefix is removed too.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from pathlib import Path

from yarl import URL

from scenarios import users
from scenarios.topologies import queue_specs
from shared.config import MODES
from shared.messaging.broker import Broker
from shared.messaging.topology import EXCHANGE_KINDS, QueueSpec, Topology

MAX_INSTANCES = 8


def known_queues(topology: Topology) -> list[str]:
    """Every queue name sagalab may declare in a namespace."""
    from orchestration.bootstrap import replies_for
    from scenarios.bench.relay import CHAINS

    specs: list[QueueSpec] = [spec for mode in MODES for spec in queue_specs(mode)]
    specs += [replies_for(i)[1] for i in range(1, MAX_INSTANCES + 1)]
    specs.append(QueueSpec("lambdas", ()))
    names = {topology.queue(spec) for spec in specs}
    names |= {chain.queue(topology, role) for chain in CHAINS.values() for role in chain.roles}
    return sorted(names | {topology.tap_queue, topology.dead_letter_queue})


def known_exchanges(topology: Topology) -> list[str]:
    return [topology.exchange(kind) for kind in EXCHANGE_KINDS] + [topology.dead_letter_exchange]


def listed_by_management(amqp_url: str, namespace: str, port: int = 15672) -> tuple[list[str], list[str]]:
    """Queues and exchanges under the namespace's prefix, from the management API (empty if it is off)."""
    url = URL(amqp_url)
    vhost = urllib.parse.quote(url.path[1:] or "/", safe="")
    auth = b64encode(f"{url.user or 'guest'}:{url.password or 'guest'}".encode()).decode()
    found: dict[str, list[str]] = {}
    for kind in ("queues", "exchanges"):
        request = urllib.request.Request(f"http://{url.host}:{port}/api/{kind}/{vhost}?columns=name",
                                         headers={"Authorization": f"Basic {auth}"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                rows = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return [], []
        found[kind] = [r["name"] for r in rows if str(r.get("name", "")).startswith(f"{namespace}.")]
    return found["queues"], found["exchanges"]


async def remove_users(amqp_url: str, namespace: str) -> int:
    """Delete the namespace's service users (``sagalab users``) when rabbitmqctl or the management API reach the broker."""
    admin = users.find_admin(amqp_url)
    return len(await users.remove(admin, namespace)) if admin is not None else 0


async def clean(amqp_url: str, namespace: str, data_root: Path = Path(".sagalab/serve")) -> dict[str, int]:
    """Delete the namespace's queues and exchanges and its ``serve`` data; returns what was removed."""
    topology = Topology(namespace)
    extra_queues, extra_exchanges = listed_by_management(amqp_url, namespace)
    queues = sorted(set(known_queues(topology)) | set(extra_queues))
    exchanges = sorted(set(known_exchanges(topology)) | set(extra_exchanges))
    broker = await Broker.connect(amqp_url, topology, "clean", declare=False)  # declaring would recreate them
    try:
        deleted_queues, deleted_exchanges = await broker.delete(queues, exchanges)
    finally:
        await broker.close()
    removed = {"queues": len(deleted_queues), "exchanges": len(deleted_exchanges), "data folders": 0,
               "users": await remove_users(amqp_url, namespace)}  # fmt: skip
    folder = data_root / namespace
    if folder.is_dir():
        shutil.rmtree(folder)
        removed["data folders"] = 1
    return removed
