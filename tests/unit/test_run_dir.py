"""Run folders: a new one per run, even for runs of the same name started in the same second."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import commands


def test_runs_in_the_same_second_get_folders_of_their_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(commands, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(commands.time, "strftime", lambda _: "20261126-030000")
    folders = [commands.run_dir("out-of-stock", "compare", "ws-ada") for _ in range(3)]
    assert [f.name for f in folders] == ["20261126-030000-ws-ada-out-of-stock-compare",
                                         "20261126-030000-ws-ada-out-of-stock-compare-2",
                                         "20261126-030000-ws-ada-out-of-stock-compare-3"]  # fmt: skip
    assert all(f.is_dir() and not any(f.iterdir()) for f in folders)
    assert commands.run_dir("bench", "", "ws-ada").name == "20261126-030000-ws-ada-bench"
