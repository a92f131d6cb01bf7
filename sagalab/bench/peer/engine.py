"""The ASL-over-AMQP peer engine (PyPI ``local-workflow-engine`` 1.0.4) under the bench's closed loop.

Its own venv (``$SAGALAB_HOME/peer/venv``, the 2022 pins of ``scripts/peer/constraints.txt``), its own queue
names (``<namespace>.peer.*``: the shared event queue, the instance's queue, the workers' queues and the
notification exchange; deleted after the run), its own REST port. The workers start first (a request to
a missing worker queue vanishes: the engine publishes without ``mandatory``), the engine runs with
``LOG_LEVEL=WARN`` (at INFO this build logs every execution's history on each FAILED one, and slows down
as it runs) and on classic durable queues, as shipped. The client in the peer venv drives the same orders
at the same concurrency and reports when each was placed and ended; CPU and memory are read here.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sagalab.bench.cpu import CpuSnapshot, cpu_used, find_broker_pid
from sagalab.bench.driver import Drive
from sagalab.bench.measure import figures
from sagalab.bench.plan import BenchOptions, expected_outcome
from sagalab.bench.result import RunFigures, Verdict
from sagalab.bench.tenths import rss_of
from shared.config import sagalab_home
from shared.domain.contracts import Order

ASSETS = Path(__file__).resolve().parents[3] / "scripts" / "peer"
"""The peer's own files, run by its venv (workers, client) or read (config, saga, pins): in the repository's
``scripts/peer``, outside the packages, since they import what sagalab does not (pika)."""
PACKAGE = "local-workflow-engine==1.0.4"
ENGINE_MODULE = "asl_workflow_engine.workflow_engine"
MESSAGES_PER_SAGA = 12
"""Publishes per 3-task execution, as the peer bench counted them (1 start, 3 requests, 3 replies, 3
transitions, 2 notifications); the bench does not count them again."""


class PeerMissing(Exception):
    """The peer engine is not installed and could not be installed (no network, a failed build)."""


def install_steps(steps: list[list[str]], what: str, by_hand: str, timeout_s: float) -> None:
    """Run a peer's install commands (make its venv, pip install) in turn; ``PeerMissing`` names the failing one
    and what to do by hand (with no network, say)."""
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PeerMissing(f"{what} could not be installed ({' '.join(step[:4])}: {exc})") from exc
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise PeerMissing(f"{what} could not be installed (pip said: {tail}); with no network, {by_hand}")


def peer_home() -> Path:
    return sagalab_home().resolve() / "peer"


def peer_python(home: Path | None = None) -> Path:
    return (home or peer_home()) / "venv" / "bin" / "python"


def _check(python: Path) -> str | None:
    """None if the engine imports in that venv, else why not."""
    if not python.exists():
        return f"no venv at {python.parent.parent}"
    probe = subprocess.run([str(python), "-c", f"import {ENGINE_MODULE.rsplit('.', 1)[0]}, pika"],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    return None if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["import failed"])[-1]


def ensure_installed(home: Path | None = None, say: Callable[[str], None] = lambda s: None) -> Path:
    """The peer venv's Python, installing the engine first when it is missing; PeerMissing says why not."""
    home = home or peer_home()
    python = peer_python(home)
    if not (ASSETS / "client.py").exists():
        raise PeerMissing(f"the peer's scripts are not at {ASSETS}: run sagalab bench --peer from a checkout of sagalab")
    if _check(python) is None:
        return python
    say(f"installing the peer engine ({PACKAGE}, 2022 pins) into {home / 'venv'} ...")
    steps = [[sys.executable, "-m", "venv", "--clear", str(home / "venv")],
             [str(python), "-m", "pip", "install", "-q", "-c", str(ASSETS / "constraints.txt"), PACKAGE]]  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    install_steps(steps, "the peer engine", f"install {PACKAGE} with {ASSETS / 'constraints.txt'} into "
                  f"{home / 'venv'} by hand", timeout_s=900)  # fmt: skip
    if (why := _check(python)) is not None:
        raise PeerMissing(f"the peer engine was installed but does not import: {why}")
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Names:
    """The peer's broker objects in this run's namespace, so several benches share one broker."""

    def __init__(self, namespace: str) -> None:
        base = f"{namespace}.peer"
        self.queue = f"{base}.asl_workflow_events"
        self.instance_id = "engine"
        self.exchange = f"{base}.asl_workflow_engine"
        self.prefix = f"{base}."

    def client_args(self) -> list[str]:
        return ["--queue", self.queue, "--instance-id", self.instance_id, "--exchange", self.exchange,
                "--prefix", self.prefix]  # fmt: skip


def write_config(run_dir: Path, names: Names, amqp_url: str, port: int) -> Path:
    """The engine's config.json (from ``scripts/peer/engine-config.json``) and the saga with prefixed workers."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config = json.loads((ASSETS / "engine-config.json").read_text())
    config["event_queue"].update(queue_name=names.queue, instance_id=names.instance_id,
                                 connection_url=amqp_url.rstrip("/") + "/?connection_attempts=20&retry_delay=2&heartbeat=0")  # fmt: skip
    config["notifier"]["topic"] = json.dumps({"node": {"x-declare": {"exchange": names.exchange,
                                                                      "exchange-type": "topic", "durable": True}}})  # fmt: skip
    config["rest_api"]["port"] = port
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    definition = (ASSETS / "checkout.asl.json").read_text().replace("function:", f"function:{names.prefix}")
    path = run_dir / "checkout.asl.json"
    path.write_text(definition)
    return path


def verdict(result: dict[str, object], orders: int) -> Verdict:
    settled = len(result["settled_at"])  # type: ignore[arg-type]
    wrong = int(result["wrong_outcome"])  # type: ignore[call-overload]
    return Verdict(ok=settled == orders and not wrong and not result["errors"], completed=int(result["succeeded"]),  # type: ignore[call-overload]
                   compensated=int(result["failed"]), stuck=orders - settled, unexpected=wrong)  # type: ignore[call-overload]


async def _client(python: Path, args: list[str], on_settled: Callable[[int], None], run_dir: Path | None = None) -> int:
    """Run the peer client, advancing the progress bar by the counts it prints; 1 from ``drive`` is a run
    that ended badly (its verdict says how), anything else that is not 0 is a peer that did not work."""
    proc = await asyncio.create_subprocess_exec(str(python), str(ASSETS / "client.py"), *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)  # fmt: skip
    seen, tail = 0, list[str]()
    assert proc.stdout is not None
    async for raw in proc.stdout:
        line = raw.decode(errors="replace").strip()
        if line.startswith("settled "):
            now = int(line.split()[1])
            on_settled(now - seen)
            seen = now
        elif line:
            tail = [*tail[-20:], line]
    code = await proc.wait()
    if code != 0 and not (code == 1 and args[0] == "drive"):
        logs = f" (see engine.log and workers.log in {run_dir})" if run_dir else ""
        raise PeerMissing(f"the peer's {args[0]} step failed{logs}:\n" + "\n".join(tail[-5:]))
    return code


async def run_asl(opts: BenchOptions, orders: list[Order], on_settled: Callable[[int], None],
                  python: Path | None = None) -> RunFigures:  # fmt: skip
    """Workers, then the engine, then the client on the same orders; stop both, delete the queues, figure."""
    python = python or ensure_installed()
    run_dir = (opts.out_dir / "peer-asl").resolve()
    names = Names(opts.namespace)
    port = _free_port()
    definition = write_config(run_dir, names, opts.amqp_url, port)
    failing = run_dir / "failing.json"
    failing.write_text(json.dumps([i for i, o in enumerate(orders) if expected_outcome(o) == "compensated"]))
    env = {**os.environ, "AMQP_URL": opts.amqp_url, "WORKER_PREFIX": names.prefix, "LOG_LEVEL": "WARN"}
    common = ["--amqp-url", opts.amqp_url, *names.client_args()]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with open(run_dir / "workers.log", "wb") as wlog, open(run_dir / "engine.log", "wb") as elog:
            procs["workers"] = subprocess.Popen([str(python), str(ASSETS / "workers.py")], env=env, stdout=wlog,
                                                stderr=subprocess.STDOUT)  # fmt: skip
            procs["engine"] = subprocess.Popen([str(python), "-m", ENGINE_MODULE], cwd=run_dir, env=env, stdout=elog,
                                               stderr=subprocess.STDOUT)  # fmt: skip
        await _client(python, ["ready", *common, "--rest", f"http://127.0.0.1:{port}", "--definition",
                               str(definition)], on_settled, run_dir)  # fmt: skip
        pids: dict[str, int | None] = {n: p.pid for n, p in procs.items()}
        pids["broker"] = find_broker_pid(opts.amqp_url)
        rss_start = rss_of({n: p.pid for n, p in procs.items()})
        before = CpuSnapshot.take(pids)
        out = run_dir / "client.json"
        await _client(python, ["drive", *common, "--rest", f"http://127.0.0.1:{port}", "--definition",
                               str(definition), "--orders", str(len(orders)), "--concurrency", str(opts.concurrency),
                               "--failing", str(failing), "--timeout", str(opts.drive_deadline_s), "--out", str(out)],
                      on_settled, run_dir)  # fmt: skip
        cpu = cpu_used(before, CpuSnapshot.take(pids))
        rss_end = rss_of({n: p.pid for n, p in procs.items()})
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise PeerMissing(f"the peer {name} exited during the run; see {run_dir / (name + '.log')}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        await _client(python, ["cleanup", *common], lambda n: None)
    if not out.exists():
        raise PeerMissing(f"the peer client wrote no result; see {run_dir}")
    result = json.loads(out.read_text())
    ids = [o.order_id for o in orders]
    run = Drive(placed_at={ids[int(i)]: t for i, t in result["placed_at"].items()},
                settled_at={ids[int(i)]: t for i, t in result["settled_at"].items()}, total=len(orders),
                rss_start=rss_start, rss_end=rss_end)  # fmt: skip
    return figures("peer", "peer: asl engine", 0, opts.concurrency, 1, run, cpu, verdict(result, len(orders)),
                   {"(counted by the peer bench)": MESSAGES_PER_SAGA * len(orders)}, str(run_dir))  # fmt: skip
