"""Settings every entry point shares: where the broker is, which namespace, where data lives."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["choreography", "orchestration"]
MODES: tuple[Mode, ...] = ("choreography", "orchestration")
UNSAFE_SWITCHES = ("no-inbox", "no-outbox", "ack-first")

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def default_amqp_url() -> str:
    return os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL


@dataclass(frozen=True)
class Settings:
    """What one service process needs to know to run."""

    service: str
    mode: Mode
    amqp_url: str = field(default_factory=default_amqp_url)
    namespace: str = "sagalab"
    data_dir: Path = Path(".sagalab/data")
    unsafe: frozenset[str] = frozenset()
    faults: tuple[str, ...] = ()
    instance: int = 0
    options: dict[str, str] = field(default_factory=dict)

    def database_path(self, service: str | None = None) -> Path:
        return self.data_dir / f"{service or self.service}.db"
