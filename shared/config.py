"""Settings every entry point shares: where the broker is, which namespace, where data lives."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shared.transport.topology import DURABILITIES as DURABILITIES  # re-exported: the entry points' settings
from shared.transport.topology import Durability, Topology, default_durability
from shared.transport.topology import UnknownDurability as UnknownDurability

Mode = Literal["choreography", "orchestration"]
MODES: tuple[Mode, ...] = ("choreography", "orchestration")
UNSAFE_SWITCHES = (
    "no-inbox", "no-outbox", "ack-first", "no-barrier", "no-business-key", "no-failure-events", "no-pinning",
    "no-publisher-check",
)

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def default_amqp_url() -> str:
    return os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL


NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
"""Matched with ``fullmatch``: ``$`` would let a trailing newline through."""


def namespace_problem(value: str) -> str | None:
    """Why ``value`` cannot prefix every exchange, queue and database name, or None if it can."""
    if NAMESPACE_PATTERN.fullmatch(value):
        return None
    if controls := sorted({repr(c) for c in value if not c.isprintable()}):
        return f"{value!r} contains the control character(s) {', '.join(controls)} (a trailing newline?)"
    return f"{value!r}: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters"


def default_namespace() -> str:
    """``SAGALAB_NAMESPACE``, else ``sagalab-<user>``: thirty workshop participants on one broker each get
    their own exchanges, queues and databases without thinking about it."""
    if configured := os.environ.get("SAGALAB_NAMESPACE"):
        return configured
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        user = ""
    user = re.sub(r"[^a-z0-9-]+", "-", user.lower()).strip("-")
    return f"sagalab-{user}" if user else "sagalab"


def sagalab_home() -> Path:
    """Where sagalab keeps what it writes (runs, service databases, executions): ``$SAGALAB_HOME``, else
    ``.sagalab`` in the current directory."""
    return Path(os.environ.get("SAGALAB_HOME") or ".sagalab")


@dataclass(frozen=True)
class Settings:
    """What one service process needs to know to run."""

    service: str
    mode: Mode
    amqp_url: str = field(default_factory=default_amqp_url)
    namespace: str = field(default_factory=default_namespace)
    data_dir: Path = field(default_factory=lambda: sagalab_home() / "data")
    unsafe: frozenset[str] = frozenset()
    faults: tuple[str, ...] = ()
    instance: int = 0
    options: dict[str, str] = field(default_factory=dict)
    durability: Durability = field(default_factory=default_durability)

    def topology(self) -> Topology:
        """The namespace's names, declared as this process's durability says."""
        return Topology(self.namespace, durability=self.durability)

    def database_path(self, service: str | None = None) -> Path:
        return self.data_dir / f"{service or self.service}.db"


def replicas_of(settings: Settings) -> int:
    """How many competing processes run this service (``--replicas``, set by ``--instances``): 1 unless told."""
    return int(settings.options.get("replicas", "1"))
