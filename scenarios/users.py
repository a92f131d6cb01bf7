"""Broker users, one per service of a namespace: ``sagalab users`` (or a run with ``--own-users``) creates them,
``sagalab clean`` deletes them.

Service ``S`` of namespace ``N`` logs in as ``N.S``. It may declare, bind to and publish on the namespace's
exchanges, and use its own queues (``N.S``, ``N.S.*``) and the dead-letter queue, nothing else; on
``N.events`` its topic permissions let it publish only its own routing keys (payment: ``payment.*``), on
``N.commands`` only the orchestrator publishes. RabbitMQ then checks every publish's ``user_id`` against the
login, so a consumer knows for certain which service sent a message (``shared/runtime/publishers.py``).

Users are created in one definitions import: ``rabbitmqctl import_definitions`` (read from standard input;
for a broker in a container set ``SAGALAB_RABBITMQCTL='docker exec -i <container> rabbitmqctl'``), else the
management HTTP API on port 15672 with the AMQP URL's credentials (which must be an administrator's).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from yarl import URL

from scenarios.broker_control import BrokerControl, BrokerControlUnavailable
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


class UserAdmin(Protocol):
    """What provisioning needs of the broker: import definitions, list users, delete one."""

    async def import_definitions(self, document: dict[str, Any]) -> None: ...
    async def users(self) -> set[str]: ...
    async def delete_user(self, name: str) -> None: ...


@dataclass(frozen=True)
class CtlAdmin:
    """Through ``rabbitmqctl`` (local, or the command prefix of ``SAGALAB_RABBITMQCTL``)."""

    control: BrokerControl

    async def import_definitions(self, document: dict[str, Any]) -> None:
        await self.control.run("import_definitions", "--format", "json", stdin=json.dumps(document).encode())

    async def users(self) -> set[str]:
        listing = await self.control.run("list_users", "-q", "--no-table-headers")
        return {line.split("\t")[0] for line in listing.splitlines()}

    async def delete_user(self, name: str) -> None:
        await self.control.run("delete_user", name)


@dataclass(frozen=True)
class HttpAdmin:
    """Through the management HTTP API, logged in with the AMQP URL's user (an administrator)."""

    base: str
    authorization: str

    @classmethod
    def of(cls, amqp_url: str, port: int = 15672) -> HttpAdmin:
        url = URL(amqp_url)
        auth = base64.b64encode(f"{url.user or 'guest'}:{url.password or 'guest'}".encode()).decode()
        return cls(f"http://{url.host}:{port}/api", f"Basic {auth}")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers={
            "Authorization": self.authorization, "Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def answers(self) -> bool:
        try:
            self.call("GET", "/whoami")
            return True
        except (urllib.error.URLError, OSError, ValueError):
            return False

    async def import_definitions(self, document: dict[str, Any]) -> None:
        await asyncio.to_thread(self.call, "POST", "/definitions", document)

    async def users(self) -> set[str]:
        return {u["name"] for u in await asyncio.to_thread(self.call, "GET", "/users?columns=name")}

    async def delete_user(self, name: str) -> None:
        await asyncio.to_thread(self.call, "DELETE", f"/users/{urllib.parse.quote(name, safe='')}")


def not_an_administrator(amqp_url: str) -> str | None:
    """The URL's user when the management API says it is not an administrator (a workshop participant, whose
    user may use one vhost and create nothing), else None (an administrator, or no API to ask)."""
    try:
        me = HttpAdmin.of(amqp_url).call("GET", "/whoami")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    tags = me.get("tags") or []
    return None if "administrator" in (tags.split(",") if isinstance(tags, str) else tags) else str(me.get("name"))


def find_admin(amqp_url: str, http_first: bool = False) -> UserAdmin | None:
    """rabbitmqctl when it reaches the broker, else the management API when it answers, else None. None too
    when the URL's user is not an administrator: rabbitmqctl on the broker's machine could create users
    anyway, but a user who may not create users should not get them through sagalab either. ``http_first``:
    the management API first when it answers, for a quick look (each rabbitmqctl call starts an Erlang VM of
    its own, half a second of CPU; ``sagalab clean`` runs after every test of the suite)."""
    if "," in amqp_url or not_an_administrator(amqp_url) is not None:  # "," a cluster: its users are not managed here
        return None
    http = HttpAdmin.of(amqp_url)
    if http_first and http.answers():
        return http
    if (control := BrokerControl.find(amqp_url)) is not None:
        return CtlAdmin(control)
    return http if http.answers() else None


def require_admin(amqp_url: str) -> UserAdmin:
    if "," in amqp_url:
        raise BrokerControlUnavailable("a broker user per service (--own-users, `sagalab users`) is not supported over "
                                       "a cluster's several URLs yet; run without it")  # fmt: skip
    if (user := not_an_administrator(amqp_url)) is not None:
        raise BrokerControlUnavailable(
            f"broker user {user!r} is not an administrator, and a broker user per service (--own-users, "
            "`sagalab users`, the forged-event scenarios) needs one to create them; in a workshop vhost, run "
            "without them (every other scenario works), or ask the instructor"
        )
    admin = find_admin(amqp_url)
    if admin is None:
        raise BrokerControlUnavailable(
            "creating broker users needs rabbitmqctl (a local broker, or SAGALAB_RABBITMQCTL set to e.g. "
            "'docker exec -i <container> rabbitmqctl') or the management API on port 15672 with an "
            "administrator in --amqp-url"
        )
    return admin


def password_variable(service: str) -> str:
    """Where ``sagalab users --passwords-from-env`` reads a service's password (the compose stack's .env)."""
    return f"SAGALAB_PASSWORD_{service.upper()}"


def passwords_from_env(environ: Mapping[str, str], services: tuple[str, ...] = SERVICE_USERS) -> dict[str, str]:
    """Each service's password from its variable; raises ValueError naming any that is unset or empty."""
    missing = [password_variable(s) for s in services if not environ.get(password_variable(s))]
    if missing:
        raise ValueError(f"set {', '.join(missing)}")
    return {service: environ[password_variable(service)] for service in services}


async def provision(admin: UserAdmin, amqp_url: str, namespace: str, services: tuple[str, ...] = SERVICE_USERS,
                    passwords: dict[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """Create (or reset) the namespace's service users, with these passwords or fresh random ones; returns each
    service's URL."""
    passwords = passwords or {service: secrets.token_urlsafe(18) for service in services}
    await admin.import_definitions(definitions(namespace, passwords, vhost_of(amqp_url)))
    return {service: service_url(amqp_url, namespace, service, pw) for service, pw in passwords.items()}


async def remove(admin: UserAdmin, namespace: str) -> list[str]:
    """Delete the namespace's service users (exactly ``<namespace>.<service>``); returns the names deleted."""
    existing = await admin.users()
    deleted = [user for service in SERVICE_USERS if (user := broker_user(namespace, service)) in existing]
    await asyncio.gather(*(admin.delete_user(user) for user in deleted))
    return deleted
