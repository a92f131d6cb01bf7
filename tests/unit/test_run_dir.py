"""Run folders: a new one per run, even for runs of the same name started in the same second."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagalab import run_folders
from shared.config import Settings


def test_runs_in_the_same_second_get_folders_of_their_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAGALAB_HOME", str(tmp_path))
    monkeypatch.setattr(run_folders.time, "strftime", lambda _: "20261126-030000")
    folders = [run_folders.run_dir("out-of-stock", "compare", "ws-ada") for _ in range(3)]
    assert [f.name for f in folders] == ["20261126-030000-ws-ada-out-of-stock-compare",
                                         "20261126-030000-ws-ada-out-of-stock-compare-2",
                                         "20261126-030000-ws-ada-out-of-stock-compare-3"]  # fmt: skip
    assert all(f.is_dir() and not any(f.iterdir()) for f in folders)
    assert run_folders.run_dir("bench", "", "ws-ada").name == "20261126-030000-ws-ada-bench"


def test_sagalab_home_says_where_everything_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Runs, service databases and executions go under $SAGALAB_HOME, else .sagalab in the current directory."""
    monkeypatch.delenv("SAGALAB_HOME", raising=False)
    assert run_folders.runs_dir() == Path(".sagalab/runs")
    assert Settings("payment", "choreography").data_dir == Path(".sagalab/data")
    monkeypatch.setenv("SAGALAB_HOME", str(tmp_path / "home"))
    assert run_folders.run_dir("happy-path", "choreography").parent == tmp_path / "home" / "runs"
    assert Settings("payment", "choreography").data_dir == tmp_path / "home" / "data"
