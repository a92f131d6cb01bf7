"""The bench's accounting of a PostgreSQL store: the whole server's CPU from /proc, and CPU per saga."""

from __future__ import annotations

from pathlib import Path

from sagalab.bench.cpu import postgres_cpu
from sagalab.bench.measure import per_saga


def _proc(root: Path, pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int = 0, cstime: int = 0) -> None:
    """A /proc/<pid> with the fields postgres_cpu reads (ticks of 1/100 s)."""
    folder = root / str(pid)
    folder.mkdir()
    (folder / "comm").write_text(comm + "\n")
    fields = ["S", str(ppid)] + ["0"] * 9 + [str(utime), str(stime), str(cutime), str(cstime)] + ["0"] * 5
    (folder / "stat").write_text(f"{pid} ({comm}) " + " ".join(fields))


def test_the_servers_cpu_is_every_postgres_process_plus_what_the_postmaster_reaped(tmp_path: Path) -> None:
    """Live backends count themselves; backends that exited count through the postmaster's children times (not
    the children times of a backend, nor any other process)."""
    _proc(tmp_path, 100, "postgres", 1, 50, 50, cutime=300, cstime=100)  # the postmaster: 1 s own, 4 s reaped
    _proc(tmp_path, 101, "postgres", 100, 150, 50, cutime=999)  # a backend: 2 s
    _proc(tmp_path, 200, "python3", 1, 1000, 0)
    assert postgres_cpu(tmp_path) == 1.0 + 4.0 + 2.0


def test_no_postgres_here_is_none(tmp_path: Path) -> None:
    _proc(tmp_path, 200, "python3", 1, 1000, 0)
    assert postgres_cpu(tmp_path) is None


def test_cpu_per_saga_splits_services_server_and_broker() -> None:
    """Every fleet process counts as a service; the driver, machine and noise do not count at all."""
    cpu = {"orders": 1.0, "payment": 1.0, "payment.1": 0.5, "postgres": 2.0, "broker": 3.0, "driver": 9.0,
           "machine": 50.0, "other": 30.0, "steal": 0.1}  # fmt: skip
    assert per_saga(cpu, 100) == {"services": 25.0, "postgres": 20.0, "broker": 30.0, "total": 75.0}
    assert per_saga({"payment": 1.0}, 0) == {}
