"""Broker users, one per service of a namespace: ``sagalab users`` (or a run with ``--own-users``) creates them,
``sagalab clean`` deletes them.

Service ``S`` of namespace ``N`` logs in as ``N.S``. It may declare, bind to and publish on the namespace's
exchanges, and use its own queues (``N.S``, ``N.S.*``) and the dead-letter queue, nothing else; on
``N.events`` its topic permissions let it publish only its own routing keys (payment: ``payment.*``), on
``N.commands`` only the orchestrator publishes. RabbitMQ then checks every publish's ``user_id`` against the
login, so a consumer knows for certain which service sent a message (``shared/runtime/publishers.py``).

Users are created in one ``rabbitmqctl import_definitions`` (definitions read from standard input; for a
broker in a container set ``SAGALAB_RABBITMQCTL='docker exec -i <container> rabbitmqctl'``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from yarl import URL

from scenarios.broker_control import BrokerControl
from shared.runtime.publishers import COMMANDER, broker_user

SERVICE_USERS = ("orders", "payment", "inventory", "shipping", "orchestrator")
"""Every service of either mode that gets a user of its own."""

TOPIC_EXCHANGES = ("events", "commands", "replies")
NOTHING = "^$"


@dataclass(frozen=True)
class TopicGrant:
    exchange: str
    write: str
    read: str = ".*"


@dataclass(frozen=True)
class Grant:
    """One service's permissions: regexes over resource names (configure, write, read) and routing keys."""

    user: str
    configure: str
    write: str
    read: str
    topics: tuple[TopicGrant, ...]


def grant(namespace: str, service: str) -> Grant:
    """What service ``service`` of ``namespace`` may touch, and which routing keys it may publish."""
    ns, own = re.escape(namespace), re.escape(service)
    queues = f"{own}(\\..*)?" + ("|notifications" if service == COMMANDER else "")
    exchanges = "events|commands|replies|dead-letter"
    may_publish = {
        "events": "^notifications\\." if service == COMMANDER else f"^{own}\\.",
        "commands": ".*" if service == COMMANDER else NOTHING,
        "replies": NOTHING if service == "orders" else ".*",
    }
    return Grant(
        user=broker_user(namespace, service),
        configure=f"^{ns}\\.({exchanges}|dead-letters|{queues})$",
        write=f"^{ns}\\.({exchanges}|dead-letters|{queues})$",
        read=f"^{ns}\\.({exchanges}|{queues})$",
        topics=tuple(TopicGrant(f"{namespace}.{kind}", may_publish[kind]) for kind in TOPIC_EXCHANGES),
    )


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64 of a 4-byte salt and sha256(salt + password)."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def vhost_of(amqp_url: str) -> str:
    return URL(amqp_url).path[1:] or "/"


def definitions(namespace: str, passwords: dict[str, str], vhost: str = "/") -> dict[str, Any]:
    """A RabbitMQ definitions document creating each service's user with its permissions (also usable as a
    broker's ``load_definitions`` file)."""
    grants = [grant(namespace, service) for service in passwords]
    return {
        "users": [{"name": g.user, "password_hash": password_hash(passwords[s]), "tags": [],
                   "hashing_algorithm": "rabbit_password_hashing_sha256"}
                  for g, s in zip(grants, passwords, strict=True)],
        "permissions": [{"user": g.user, "vhost": vhost, "configure": g.configure, "write": g.write, "read": g.read}
                        for g in grants],
        "topic_permissions": [{"user": g.user, "vhost": vhost, "exchange": t.exchange, "write": t.write, "read": t.read}
                              for g in grants for t in g.topics],
    }  # fmt: skip


def service_url(amqp_url: str, namespace: str, service: str, password: str) -> str:
    """The broker URL a service uses to log in as its own user."""
    return str(URL(amqp_url).with_user(broker_user(namespace, service)).with_password(password))


async def provision(control: BrokerControl, amqp_url: str, namespace: str,
                    services: tuple[str, ...] = SERVICE_USERS) -> dict[str, str]:  # fmt: skip
    """Create (or reset, with new passwords) the namespace's service users; returns each service's URL."""
    passwords = {service: secrets.token_urlsafe(18) for service in services}
    document = json.dumps(definitions(namespace, passwords, vhost_of(amqp_url)))
    await control.run("import_definitions", "--format", "json", stdin=document.encode())
    return {service: service_url(amqp_url, namespace, service, pw) for service, pw in passwords.items()}


async def remove(control: BrokerControl, namespace: str) -> list[str]:
    """Delete the namespace's service users (exactly ``<namespace>.<service>``); returns the names deleted."""
    listing = await control.run("list_users", "-q", "--no-table-headers")
    existing = {line.split("\t")[0] for line in listing.splitlines()}
    ours = [broker_user(namespace, service) for service in SERVICE_USERS]
    deleted = [user for user in ours if user in existing]
    await asyncio.gather(*(control.run("delete_user", user) for user in deleted))
    return deleted
