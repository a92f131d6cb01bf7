"""Commands to the broker itself, for the faults that need them: restart its app, drop every connection, block
its publishers for a while (the memory alarm raised on purpose).

Found in this order: ``SAGALAB_RABBITMQCTL`` (a command prefix, e.g. ``docker exec -i my-rabbit rabbitmqctl``),
else a local ``rabbitmqctl`` when the broker is on this machine.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from dataclasses import dataclass

from yarl import URL


class BrokerControlUnavailable(Exception):
    """A scenario needs to restart the broker or drop its connections, and cannot."""


@dataclass(frozen=True)
class BrokerControl:
    prefix: tuple[str, ...]

    @classmethod
    def find(cls, amqp_url: str) -> BrokerControl | None:
        if configured := os.environ.get("SAGALAB_RABBITMQCTL"):
            return cls(tuple(shlex.split(configured)))
        if "," in amqp_url:  # a cluster: a bare rabbitmqctl would reach the machine's own node, not this cluster's
            return None
        host = URL(amqp_url).host or ""
        if host in ("127.0.0.1", "localhost", "::1") and (ctl := shutil.which("rabbitmqctl")):
            return cls((ctl,))
        return None

    @classmethod
    def require(cls, amqp_url: str) -> BrokerControl:
        control = cls.find(amqp_url)
        if control is None and "," in amqp_url:
            raise BrokerControlUnavailable(
                "this scenario restarts, pauses or disconnects the broker, which over a cluster's several URLs needs "
                "SAGALAB_RABBITMQCTL set to reach one of its nodes (e.g. 'scripts/cluster.sh ctl 1'); to take a "
                "node away, use --fault broker:kill-node:N"
            )
        if control is None:
            raise BrokerControlUnavailable(
                "this scenario restarts the broker or drops its connections, which needs rabbitmqctl: run the "
                "broker on this machine, or set SAGALAB_RABBITMQCTL to a command prefix that reaches it "
                "(for a container: 'docker exec -i <container> rabbitmqctl')"
            )
        return control

    async def run(self, *args: str, timeout_s: float = 60.0, stdin: bytes | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self.prefix, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout=timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(self.prefix + args)} failed: {out.decode(errors='replace')[-500:]}")
        return out.decode(errors="replace")

    async def stop_app(self) -> None:
        await self.run("stop_app")

    async def start_app(self) -> None:
        await self.run("start_app")
        await self.run("await_startup")

    async def memory_watermark(self) -> tuple[str, ...]:
        """The broker's memory high watermark as ``set_vm_memory_high_watermark`` takes it back: a fraction
        (``0.4``) or ``absolute BYTES``."""
        value = (await self.run("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")).strip()
        if value.startswith("{absolute,"):
            return ("absolute", value.removeprefix("{absolute,").rstrip("}").strip())
        float(value)  # refuse to go on with a value we could not set back
        return (value,)

    async def block_publishers(self) -> tuple[str, ...]:
        """Raise the memory alarm on purpose (watermark 0): the broker stops reading from every connection that
        publishes, consumers carry on. Returns the watermark to put back (``unblock_publishers``)."""
        previous = await self.memory_watermark()
        await self.run("set_vm_memory_high_watermark", "0")
        return previous

    async def unblock_publishers(self, watermark: tuple[str, ...]) -> None:
        await self.run("set_vm_memory_high_watermark", *watermark)

    async def close_connections(self, namespace: str, reason: str = "sagalab fault injection") -> int:
        """Close every connection of one namespace (what ``close_all_connections`` does, without
        disturbing other runs or workshop participants on the same broker)."""
        listing = await self.run("list_connections", "-q", "--no-table-headers", "pid", "client_properties")
        closed = 0
        for line in listing.splitlines():
            pid, _, properties = line.partition("\t")
            if f'{{"connection_name","{namespace}:' in properties:
                await self.run("close_connection", pid, reason)
                closed += 1
        return closed
