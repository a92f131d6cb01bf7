"""CPU seconds per process, read from /proc, so a reader sees where the machine's cores went during a run."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
BUSY_FIELDS = (0, 1, 2, 5, 6)
"""user, nice, system, irq and softirq of the ``cpu`` line of /proc/stat (idle, iowait and steal excluded)."""
STEAL_FIELD = 7
"""Time the hypervisor ran someone else while this machine wanted a core: the mark of a noisy neighbour."""


def parse_process_cpu(stat: str, ticks: int = CLOCK_TICKS) -> float:
    """CPU seconds (user + system) from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may hold spaces or parentheses itself, so the
    fields are counted from the last closing parenthesis: utime and stime are fields 14 and 15."""
    rest = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(rest[11]), int(rest[12])
    return (utime + stime) / ticks


def parse_machine_busy(stat: str, ticks: int = CLOCK_TICKS) -> tuple[float, float]:
    """CPU seconds all cores spent busy, and seconds stolen by the hypervisor, from /proc/stat's ``cpu`` line."""
    line = next(line for line in stat.splitlines() if line.startswith("cpu "))
    values = [int(v) for v in line.split()[1:]]
    steal = values[STEAL_FIELD] if STEAL_FIELD < len(values) else 0
    return sum(values[i] for i in BUSY_FIELDS if i < len(values)) / ticks, steal / ticks


def process_cpu(pid: int, proc: Path = Path("/proc")) -> float | None:
    """CPU seconds a live process has used so far; None once it is gone (or without /proc)."""
    try:
        return parse_process_cpu((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def _own_and_children(stat: str, ticks: int = CLOCK_TICKS) -> tuple[float, float, int]:
    """(own CPU s, reaped children's CPU s, parent pid) from the text of /proc/<pid>/stat."""
    rest = stat[stat.rindex(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / ticks, (int(rest[13]) + int(rest[14])) / ticks, int(rest[1])


def postgres_cpu(proc: Path = Path("/proc")) -> float | None:
    """CPU seconds the local PostgreSQL server has used so far, all of it: every live ``postgres`` process plus
    what the postmaster reaped of backends that exited (a connection closed during the run still counts). Other
    clients' queries on the same server count too. None when no PostgreSQL runs here."""
    found: dict[int, tuple[float, float, int]] = {}
    for entry in proc.glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                found[int(entry.name)] = _own_and_children((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    if not found:
        return None
    postmasters = [pid for pid, (_, _, parent) in found.items() if parent not in found]
    return sum(own for own, _, _ in found.values()) + sum(found[pid][1] for pid in postmasters)


def machine_busy(proc: Path = Path("/proc")) -> tuple[float, float] | None:
    try:
        return parse_machine_busy((proc / "stat").read_text())
    except (OSError, ValueError, StopIteration):
        return None


def listening_inodes(port: int, proc: Path = Path("/proc")) -> set[str] | None:
    """Socket inodes listening on a TCP port (any address), from /proc/net/tcp and tcp6; None when neither
    table can be read."""
    inodes: set[str] = set()
    tables = [proc / "net" / t for t in ("tcp", "tcp6") if (proc / "net" / t).exists()]
    if not tables:
        return None
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _owns_socket(entry: Path, inodes: set[str]) -> bool:
    try:
        return any(os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes for fd in (entry / "fd").iterdir())
    except OSError:
        return False


def find_broker_pid(amqp_url: str | None = None, proc: Path = Path("/proc")) -> int | None:
    """The local RabbitMQ node's OS process (``beam.smp``) that serves ``amqp_url`` (the first node of a
    cluster's URLs), found by the port it listens on; without a URL, or when /proc/net cannot be read, the
    first RabbitMQ node found. None when the broker does not run on this machine."""
    port = urlsplit(amqp_url.split(",")[0].strip()).port or 5672 if amqp_url else None
    inodes = listening_inodes(port, proc) if port else None
    if inodes is not None and not inodes:
        return None  # nothing listens on that port here: the broker is elsewhere
    for entry in proc.glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() != "beam.smp" or b"rabbit" not in (entry / "cmdline").read_bytes():
                continue
        except OSError:
            continue
        if inodes is None or _owns_socket(entry, inodes):
            return int(entry.name)
    return None


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds of each named process and of the whole machine at one instant."""

    processes: Mapping[str, float | None]
    machine: tuple[float, float] | None
    """(busy, stolen) CPU seconds of the whole machine."""

    @classmethod
    def take(cls, pids: Mapping[str, int | None], groups: Mapping[str, Callable[[], float | None]] | None = None
             ) -> CpuSnapshot:  # fmt: skip
        """Each process by pid, and each group of processes (the PostgreSQL server) by its reader."""
        processes = {name: process_cpu(pid) if pid else None for name, pid in pids.items()}
        return cls(processes | {name: read() for name, read in (groups or {}).items()}, machine_busy())


def cpu_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float | None]:
    """CPU seconds each process used between two snapshots, plus ``machine`` (every busy core), ``other``
    (what the machine spent outside the listed processes) and ``steal`` (what the hypervisor took: a run
    with much of it was disturbed by the host, whatever its figures say)."""
    used: dict[str, float | None] = {}
    for name, start in before.processes.items():
        end = after.processes.get(name)
        used[name] = round(end - start, 3) if start is not None and end is not None else None
    if before.machine is not None and after.machine is not None:
        machine = after.machine[0] - before.machine[0]
        ours = sum(v for v in used.values() if v is not None)
        used["machine"] = round(machine, 3)
        used["other"] = round(max(machine - ours, 0.0), 3)
        used["steal"] = round(after.machine[1] - before.machine[1], 3)
    return used
