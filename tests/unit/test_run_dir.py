"""Run folders: a new one per run, even for runs of the same name started in the same second."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagalab import run_folders


def test_runs_in_the_same_second_get_folders_of_their_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(run_folders, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(run_folders.time, "strftime", lambda _: "20261126-030000")
    folders = [run_folders.run_dir("out-of-stock", "compare", "ws-ada") for _ in range(3)]
    assert [f.name for f in folders] == ["20261126-030000-ws-ada-out-of-stock-compare",
                                         "20261126-030000-ws-ada-out-of-stock-compare-2",
                                         "20261126-030000-ws-ada-out-of-stock-compare-3"]  # fmt: skip
    assert all(f.is_dir() and not any(f.iterdir()) for f in folders)
    assert run_folders.run_dir("bench", "", "ws-ada").name == "20261126-030000-ws-ada-bench"
