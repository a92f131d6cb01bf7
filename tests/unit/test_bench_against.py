"""scripts/bench_against.py: two commits benched in turn on one machine, compared by CPU per saga."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_against.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_against", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _result(orchestrator: float, participants: float, broker: float, tput: float, raw: float) -> dict[str, Any]:
    """A bench JSON of the oldest shape the script reads: no per-saga figures, no growth, no peers."""
    cpu = {
        "orchestrator": orchestrator,
        "payment": participants / 3,
        "inventory": participants / 3,
        "shipping": participants / 3,
        "broker": broker,
        "driver": 0.5,
        "machine": 9.0,
        "other": 0.1,
        "steal": 0.0,
    }
    return {"modes": {"orchestration": {
        "saga": {"orders": 1000, "settled": 1000, "throughput_per_s": tput, "cpu_s": cpu},
        "raw": {"orders": 1000, "settled": 1000, "throughput_per_s": raw, "cpu_s": {"broker": 1.0}},
    }}}  # fmt: skip


def test_figures_are_cpu_ms_per_saga_by_role_and_the_ratio_to_the_raw_chain() -> None:
    """Coordinator, participants, every service (not the broker, driver or machine) and the broker, per saga."""
    got = _script().figures(_result(orchestrator=3.0, participants=2.4, broker=2.5, tput=200.0, raw=500.0))
    assert got == {"orchestration": {"coordinator": 3.0, "participants": 2.4, "services": 5.4, "broker": 2.5,
                                     "ratio": 0.4}}  # fmt: skip


def test_report_gives_both_medians_the_change_and_every_pair() -> None:
    """The medians of each side, the change from REF to this checkout, and each pair in the order run."""
    module = _script()
    ref = [module.figures(_result(4.0, 3.0, 3.0, 150.0, 500.0)), module.figures(_result(3.0, 3.0, 3.0, 160.0, 500.0))]
    this = [module.figures(_result(2.0, 3.0, 3.0, 200.0, 500.0)), module.figures(_result(3.0, 3.0, 3.0, 210.0, 500.0))]
    lines = module.report("1af6778", ref, this)
    coordinator = next(line for line in lines if "coordinator" in line).split()
    assert coordinator[3:6] == ["3.5", "2.5", "-28.6%"]
    assert "4.0 -> 2.0, 3.0 -> 3.0" in next(line for line in lines if "coordinator" in line)


def test_a_mode_the_older_commit_did_not_measure_reads_na() -> None:
    """A mode only this checkout's bench has is reported without a change, not as a crash."""
    module = _script()
    this = [module.figures(_result(2.0, 3.0, 3.0, 200.0, 500.0))]
    lines = module.report("old", [{}], this)
    assert all("n/a" in line for line in lines[1:])


def test_the_pairs_take_turns_and_the_bench_options_pass_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Pair 1 runs REF first, pair 2 this checkout first; what follows -- reaches both benches unchanged."""
    module = _script()
    ran: list[tuple[str, list[str]]] = []
    monkeypatch.setenv("SAGALAB_HOME", str(tmp_path))
    monkeypatch.setattr(module, "HERE", tmp_path / "this")  # a checkout with a venv, wherever the suite runs
    (tmp_path / "this" / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / "this" / ".venv" / "bin" / "sagalab").touch()
    monkeypatch.setattr(module, "commit_of", lambda ref: "abc123" * 7)
    monkeypatch.setattr(module, "checkout_of", lambda commit: tmp_path / "ref")

    def bench(tree: Path, options: list[str], out: Path) -> dict[str, Any]:
        ran.append((tree.name, list(options)))
        return module.figures(_result(3.0, 3.0, 3.0, 200.0, 500.0))

    monkeypatch.setattr(module, "bench", bench)
    assert module.main(["abc123", "--pairs", "2", "--", "--mode", "orchestration", "--orders", "50"]) == 0
    assert [who for who, _ in ran] == ["ref", "this", "this", "ref"]
    assert all(options == ["--mode", "orchestration", "--orders", "50"] for _, options in ran)


def test_a_name_that_is_no_commit_is_refused_with_its_name() -> None:
    """A typo in REF stops the script before any worktree or bench, saying which name was wrong (in a checkout
    without git, as in the tests image, it says the same rather than failing on the missing command)."""
    with pytest.raises(SystemExit) as stopped:
        _script().commit_of("no-such-ref-xyz")
    assert "no-such-ref-xyz" in str(stopped.value.code)


def test_a_json_option_is_refused_since_each_bench_gets_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    """--json among the bench options would send both benches' figures to one file: refused, saying so."""
    with pytest.raises(SystemExit):
        _script().main(["HEAD", "--", "--orders", "10", "--json", "x.json"])
    assert "--json" in capsys.readouterr().err
