"""``sagalab bench --peer`` without the peer: its table and JSON, its names and config, and the clear word
when the peer cannot be installed."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from sagalab.bench import command
from sagalab.bench.peer import durable, engine
from sagalab.bench.peer.engine import Names, PeerMissing, ensure_installed, write_config
from sagalab.bench.peer.options import requested
from sagalab.bench.result import BenchResult
from sagalab.bench.view import render
from sagalab.cli import parser
from tests.unit.bench_support import result_with, run


def test_peer_option_defaults_to_the_asl_engine_and_takes_the_durable_peers() -> None:
    """``--peer`` alone is the ASL engine; repeated, each peer once, in order; without it, none."""
    bench = ["bench", "--orders", "10"]
    assert requested(parser().parse_args(bench)) == ()
    assert requested(parser().parse_args([*bench, "--peer"])) == ("asl",)
    assert requested(parser().parse_args([*bench, "--peer", "dbos", "--peer", "temporal", "--peer", "dbos"])) == (
        "dbos", "temporal")  # fmt: skip
    with pytest.raises(SystemExit):
        parser().parse_args([*bench, "--peer", "airflow"])


def test_the_peer_is_a_column_of_the_same_table_and_a_key_of_the_json() -> None:
    """The peer's throughput, p50 and engine CPU per saga sit beside the mode's, and a line compares them."""
    saga = run("saga", "orchestration", throughput=70.0, p50=30.0,
               cpu={"orchestrator": 1.74, "payment": 0.5, "inventory": 0.4, "shipping": 0.3})  # fmt: skip
    peer = run("peer", "peer: asl engine", throughput=140.0, p50=15.0, cpu={"engine": 1.0, "workers": 0.3})
    result = result_with(saga, {"asl": peer})
    console = Console(width=220, record=True)
    render(result, console)
    text = console.export_text()
    assert "peer: asl engine" in text
    assert ("orchestration / peer: asl engine: throughput 0.50x, p50 2.00x, coordinator CPU ms/saga 8.70 vs 5.00, "
            "participants 6.00 vs its workers 1.50") in " ".join(text.split())  # fmt: skip
    back = BenchResult.model_validate_json(result.model_dump_json())
    assert back.peers["asl"].kind == "peer" and back.peers["asl"].cpu_s["engine"] == 1.0


def test_a_table_printed_to_a_file_keeps_every_figure_whole(tmp_path: Path) -> None:
    """Redirected to a file (``> bench.txt``), rich assumes 80 columns: the modes beside three peers used to read
    "95…" for every figure. The table now takes the width it needs; a terminal keeps its own width."""
    saga = run("saga", "orchestration", throughput=212.3, p50=465.8, cpu={"orchestrator": 5.52})
    peers = {name: run("peer", f"peer: {name}", throughput=12345.6, p50=6565.63, cpu={"engine": 4.46, "workers": 1.12})
             for name in ("asl engine", "dbos", "temporal")}  # fmt: skip
    out = tmp_path / "bench.txt"
    with out.open("w") as file:
        render(result_with(saga, peers), Console(file=file))  # a file: not a terminal, 80 columns by default
    text = out.read_text()
    table = text[: text.index("orchestration / peer")]
    assert "…" not in table
    assert "12,345.6" in table and "6,565.63" in table and "peer: temporal" in table


def test_the_peer_runs_on_queues_of_the_namespace_and_a_port_of_its_own(tmp_path: Path) -> None:
    """Config and saga are rewritten so two benches on one broker never share the engine's queues."""
    names = Names("h-test")
    definition = write_config(tmp_path, names, "amqp://guest:guest@127.0.0.1:5672/", 45123)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["event_queue"]["queue_name"] == "h-test.peer.asl_workflow_events"
    assert config["event_queue"]["queue_type"] == "AMQP-0.9.1"  # the asyncio mode is broken in this build
    assert config["rest_api"]["port"] == 45123
    assert json.loads(config["notifier"]["topic"])["node"]["x-declare"]["exchange"] == "h-test.peer.asl_workflow_engine"
    resources = [s["Resource"] for s in json.loads(definition.read_text())["States"].values() if "Resource" in s]
    assert resources and all(r.startswith("arn:aws:rpcmessage:local::function:h-test.peer.") for r in resources)


def test_a_peer_that_cannot_be_installed_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No venv and pip failing (no network): PeerMissing says what failed and how to install by hand."""

    def failing(step: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        if "pip" in step:
            return subprocess.CompletedProcess(step, 1, "", "ERROR: No matching distribution found for local-workflow-engine")
        return subprocess.CompletedProcess(step, 0, "", "")

    monkeypatch.setattr(engine.subprocess, "run", failing)
    with pytest.raises(PeerMissing, match="could not be installed .*No matching distribution.* by hand"):
        ensure_installed(tmp_path / "peer")


async def test_bench_with_a_missing_peer_says_so_and_measures_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    """The peer is checked before any run: exit 1 with the reason, no traceback, no run started."""

    class _Probe:
        async def close(self) -> None:
            return None

    async def connect(*args: object) -> _Probe:
        return _Probe()

    def missing(peers: object, say: object) -> dict[str, Path]:
        raise PeerMissing("the peer engine could not be installed (pip said: no network)")

    async def never(*args: object, **kwargs: object) -> BenchResult:
        raise AssertionError("nothing is measured when a peer is missing")

    monkeypatch.setattr(command.Broker, "connect", connect)
    monkeypatch.setattr(command, "prepare", missing)
    monkeypatch.setattr(command, "run_bench", never)
    args = parser().parse_args(["bench", "--peer", "--orders", "10", "--out", str(tmp_path)])
    console = Console(width=200, record=True)
    assert await command.bench(args, console) == 1
    assert "sagalab bench: the peer engine could not be installed (pip said: no network)" in console.export_text()
    assert isinstance(args, argparse.Namespace)


def test_durable_peers_results_read_as_the_bench_figures(tmp_path: Path) -> None:
    """A DBOS result file: throughput, percentiles, CPU seconds from ms per execution, tenths, verdict."""
    found = {"measured": 200, "exec_per_s": 31.8, "window_s": 6.3, "executions_compensated_expected": 20,
             "latency_ms": {"p50": 678.2, "p95": 900.0, "p99": 1000.0}, "cpu_ms_per_exec": {"app": 31.1},
             "tenths": [{"exec_per_s": 30.0}] * 9 + [{"exec_per_s": 27.0}], "wrong_results": 0, "effect_problems": 0}  # fmt: skip
    figures = durable.figures_of("dbos", found, 200, 100, tmp_path)
    assert figures.kind == "peer" and figures.throughput_per_s == 31.8 and figures.latency_ms.p50 == 678.2
    assert figures.cpu_s == {"app": 6.22} and figures.verdict.ok and figures.verdict.compensated == 20
    assert figures.growth is not None and figures.growth.last_over_first == 0.9
    assert durable.fail_every(0.1) == 10 and durable.fail_every(0.0) == 0
    assert "--fail-every" in durable.command("dbos", tmp_path / "python", 100, 200, 0.1, tmp_path / "out.json")
