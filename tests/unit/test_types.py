"""The project's own packages type-check: mypy, with the settings in pyproject.toml, finds nothing to report.

Its findings were not all cosmetic: it saw that a Fail state's ErrorPath could hold a JSONata expression, which the
JSONPath flow would have called with the wrong arguments (the JSONata flow runs those states; now asserted)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "choreography", "orchestration", "scenarios", "sagalab")


def test_mypy_finds_nothing_in_the_packages(tmp_path: Path) -> None:
    out, err, status = api.run([*(str(ROOT / p) for p in PACKAGES), "--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(tmp_path / "mypy-cache")])  # fmt: skip
    assert status == 0, f"mypy found problems:\n{out}{err}"
