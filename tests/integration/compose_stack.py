"""docker-compose.yml's services run as local processes: the nearest thing to `docker compose up` on a machine
with no Docker engine.

Each container becomes a process running the very command the compose file gives it (`sagalab <command>`),
with the compose file's environment (the broker URL replaced by the test's) and a folder standing in for the
container's file system: every volume it mounts is a symlink there to one shared folder per named volume, so
two containers that mount the same volume see the same files, as they would under Docker. The command's
absolute paths are read inside that folder.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.unit.test_compose import SERVICE_PASSWORDS, load_compose

WORKDIR = "/app"
"""The image's working directory (the Dockerfile's WORKDIR)."""


@dataclass(frozen=True)
class Container:
    """One compose service as a process: its name, the sagalab arguments it runs, its environment and root."""

    name: str
    argv: list[str]
    env: dict[str, str]
    root: Path

    def host_path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")


class ComposeStack:
    """The compose file read for one namespace, its named volumes as folders under ``base``."""

    def __init__(self, amqp_url: str, namespace: str, base: Path) -> None:
        env = {"RABBITMQ_USER": "sagalab", "RABBITMQ_PASSWORD": "not-used-here", "SAGALAB_NAMESPACE": namespace,
               **SERVICE_PASSWORDS}  # fmt: skip
        self.compose = load_compose(env)
        self.amqp_url, self.namespace, self.base = amqp_url, namespace, base

    def services_of(self, profile: str) -> list[str]:
        return [name for name, spec in self.compose["services"].items() if profile in spec.get("profiles", [])]

    def container(self, name: str, argv: list[str] | None = None) -> Container:
        """The service ``name`` ready to run (``argv`` replaces its command, as `docker compose run` does)."""
        spec = self.compose["services"][name]
        root = self.base / "containers" / name
        (root / WORKDIR.lstrip("/")).mkdir(parents=True, exist_ok=True)
        for mount in spec.get("volumes", []):
            volume, target = mount.split(":")[:2]
            shared = self.base / "volumes" / volume
            shared.mkdir(parents=True, exist_ok=True)
            link = root / target.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(shared, target_is_directory=True)
        environment: Mapping[str, Any] = spec.get("environment") or {}
        env = {**os.environ, **{k: str(v) for k, v in environment.items()}, "AMQP_URL": self.amqp_url}
        command = list(argv if argv is not None else spec["command"])
        return Container(name, command, env, root)

    def argv_on_host(self, c: Container) -> list[str]:
        """The command with each absolute (container) path read inside the container's folder."""
        return [str(c.host_path(a)) if a.startswith("/") else a for a in c.argv]

    def run(self, c: Container, timeout_s: float = 300) -> tuple[int, str]:
        """A one-shot container: run it to the end from its working directory; (exit status, output)."""
        import subprocess

        done = subprocess.run([sys.executable, "-m", "sagalab.cli", *self.argv_on_host(c)], env=c.env,
                              cwd=c.host_path(WORKDIR), capture_output=True, text=True, timeout=timeout_s,
                              check=False)  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    @asynccontextmanager
    async def up(
        self, *profiles: str, ready_timeout_s: float = 60
    ) -> AsyncIterator[dict[str, asyncio.subprocess.Process]]:
        """`docker compose --profile P up -d`, then `down` (SIGTERM, as docker stop) when the block ends."""
        started: dict[str, asyncio.subprocess.Process] = {}
        ready: dict[str, Path] = {}
        try:
            for profile in profiles:
                for name in self.services_of(profile):
                    c = self.container(name)
                    log = (self.base / f"{name}.log").open("w")
                    started[name] = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "sagalab.cli", *self.argv_on_host(c), env=c.env,
                        cwd=c.host_path(WORKDIR), stdout=log, stderr=log,
                    )  # fmt: skip
                    service, data = c.argv[1], c.argv[c.argv.index("--data-dir") + 1]
                    ready[name] = c.host_path(data) / f"{service}.ready"
            end = time.monotonic() + ready_timeout_s
            while waiting := [n for n, path in ready.items() if not path.exists()]:
                exited = [n for n in waiting if started[n].returncode is not None]
                assert not exited, f"{exited} exited: {self.log(exited[0])}"
                assert time.monotonic() < end, f"{waiting} not ready: {self.log(waiting[0])}"
                await asyncio.sleep(0.05)  # polling the ready files with a deadline
            yield started
        finally:
            for process in started.values():
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in started.values():
                await asyncio.wait_for(process.wait(), 30)

    def log(self, name: str) -> str:
        return (self.base / f"{name}.log").read_text()[-3000:]
