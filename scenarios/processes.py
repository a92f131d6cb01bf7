"""Service processes of a run: start each as its own OS process, wait until ready, kill, restart, stop.

Each runs under ``asyncio.create_subprocess_exec``, so waiting for one to exit never blocks the event loop.
Each gets a pipe as stdin and ``--exit-with-parent``: if the runner dies, the pipe closes and the service
stops itself (see ``sagalab.parent``), so no orphan keeps consuming the namespace's queues.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from shared.config import Settings
from shared.runtime.faults import persistent

log = structlog.get_logger()


EXIT_WITH_PARENT = "--exit-with-parent"
"""The switch that makes a started process stop when its stdin (the runner's pipe) closes."""


class ServiceFailedToStart(Exception):
    """A service process exited or never became ready; the message carries the end of its log."""


def replica_options(service: str, service_options: dict[str, str], instances: int) -> dict[str, str]:
    """The options of one of ``instances`` competing processes of a service: the orchestrator's own (definition,
    workflow) and, with replicas, how many there are (Express then shares its executions, see orchestration)."""
    options = dict(service_options) if service == "orchestrator" else {}
    if instances > 1:
        options["replicas"] = str(instances)
    return options


@dataclass
class ServiceProcess:
    settings: Settings
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    held: bool = False
    """Kept down on purpose by a fault injector: the supervisor must not restart it."""

    @property
    def name(self) -> str:
        s = self.settings
        return s.service if not s.instance else f"{s.service}.{s.instance}"

    @property
    def ready_path(self) -> Path:
        suffix = f".{self.settings.instance}" if self.settings.instance else ""
        return self.settings.data_dir / f"{self.settings.service}{suffix}.ready"

    def command(self) -> list[str]:
        s = self.settings
        cmd = [sys.executable, "-m", "sagalab.serve", s.service, "--mode", s.mode,
               "--namespace", s.namespace, "--data-dir", str(s.data_dir), "--instance", str(s.instance),
               "--durability", s.durability, EXIT_WITH_PARENT]  # fmt: skip
        for switch in sorted(s.unsafe):
            cmd += ["--unsafe", switch]
        for fault in s.faults:
            cmd += ["--fault", fault]
        for key, value in sorted(s.options.items()):
            cmd += [f"--{key.replace('_', '-')}", value]
        return cmd

    async def start(self) -> None:
        """Start the process; a restart runs without the scenario's one-off fault hooks (they fire once), but
        keeps a bug tied to an order's data, which a restart does not fix."""
        if self.starts:
            self.settings = replace(self.settings, faults=tuple(f for f in self.settings.faults if persistent(f)))
        self.ready_path.unlink(missing_ok=True)
        out = self.log_path.open("ab")
        env = self.environment()
        try:
            # stdin is a pipe we never write to: its end of file tells the child we are gone.
            self.process = await asyncio.create_subprocess_exec(
                *self.command(), stdin=asyncio.subprocess.PIPE, stdout=out, stderr=asyncio.subprocess.STDOUT, env=env
            )
        finally:
            out.close()  # the child has its own copy of the descriptor
        self.starts += 1

    def environment(self) -> dict[str, str]:
        # The URL, which may hold the service's own password, goes in the environment (AMQP_URL), not in ps.
        return {**os.environ, "PYTHONUNBUFFERED": "1", "AMQP_URL": self.settings.amqp_url}

    def is_ready(self) -> bool:
        """The service wrote its ready file (``sagalab serve`` does once it consumes)."""
        return self.ready_path.exists()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """kill -9: no goodbye, no flush, no ack. Returns once the process is gone (reaped)."""
        if self.alive():
            assert self.process is not None
            with suppress(ProcessLookupError):  # it exited on its own a moment ago
                self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self, grace_s: float = 40.0) -> None:
        """SIGTERM, then kill -9 if the service has not drained and exited within ``grace_s``."""
        if not self.alive():
            return
        assert self.process is not None
        with suppress(ProcessLookupError):  # it exited on its own a moment ago
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), grace_s)
        except TimeoutError:
            await self.kill()

    def killed_by_fault(self) -> str | None:
        """The scenario's crash fault that this process, dead of kill -9, ran with (None: it died of something
        else)."""
        if self.returncode != -signal.SIGKILL:
            return None
        return next((f for f in self.settings.faults if f.startswith("crash:")), None)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Fleet:
    """All the processes a mode needs for one run."""

    processes: list[ServiceProcess] = field(default_factory=list)

    def __getitem__(self, name: str) -> ServiceProcess:
        return next(p for p in self.processes if p.name == name)

    def replicas(self, service: str) -> list[ServiceProcess]:
        """Every competing process of a service (``--instances``), the first one first."""
        return [p for p in self.processes if p.settings.service == service]

    @property
    def replica_counts(self) -> dict[str, int]:
        """How many processes each service ran."""
        counts: dict[str, int] = {}
        for p in self.processes:
            counts[p.settings.service] = counts.get(p.settings.service, 0) + 1
        return counts

    async def start(self) -> None:
        for p in self.processes:
            await p.start()

    async def wait_ready(self, timeout_s: float | None = None, only: list[ServiceProcess] | None = None) -> None:
        """Wait for every process's ready file; by default 60 s, and 10 s more for each process past four
        (replicas start together, and on two busy cores twelve interpreters take their turns)."""
        waiting = list(only or self.processes)
        timeout_s = timeout_s if timeout_s is not None else 60.0 + 10.0 * max(0, len(waiting) - 4)
        deadline = time.monotonic() + timeout_s
        while waiting:
            for p in list(waiting):
                if p.is_ready():
                    waiting.remove(p)
                elif not p.alive():
                    raise ServiceFailedToStart(f"{p.name} exited before it was ready:\n{p.log_tail()}")
            if time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                raise ServiceFailedToStart(f"{names} not ready after {timeout_s:.0f}s:\n{waiting[0].log_tail()}")
            await asyncio.sleep(0.02)  # polling ready files with a deadline

    async def restart(self, p: ServiceProcess, timeout_s: float = 60.0) -> None:
        await p.start()
        await self.wait_ready(timeout_s, only=[p])

    @asynccontextmanager
    async def held(self, p: ServiceProcess) -> AsyncIterator[None]:
        """Keep the supervisor's hands off a process while a fault injector works on it."""
        p.held = True
        try:
            yield
        finally:
            p.held = False

    async def supervise(self, stopping: asyncio.Event) -> None:
        """Restart any process that died (a crash fault), as a process supervisor would."""
        while not stopping.is_set():
            for p in self.processes:
                if p.process is not None and not p.alive() and not p.held and not stopping.is_set():
                    if (fault := p.killed_by_fault()) is not None:
                        log.warning("the scenario killed it on purpose; restarting it", service=p.name, fault=fault)
                    else:
                        log.warning("service died unexpectedly; restarting it (its log is in the run folder)",
                                    service=p.name, exit=p.returncode)  # fmt: skip
                    p.held = True
                    try:
                        await self.restart(p)
                    finally:
                        p.held = False
            await asyncio.sleep(0.05)  # a supervisor's polling interval

    @property
    def restarts(self) -> dict[str, int]:
        return {p.name: p.starts - 1 for p in self.processes if p.starts > 1}

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes))

    async def kill_all(self) -> None:
        await asyncio.gather(*(p.kill() for p in self.processes))
