"""Where runs keep their databases, logs and traces: a new folder per run under ``$SAGALAB_HOME/runs``
(``.sagalab/runs`` in the current directory when ``SAGALAB_HOME`` is unset)."""

from __future__ import annotations

import time
from pathlib import Path

from sagalab.exits import UsageError
from shared.config import sagalab_home


def runs_dir() -> Path:
    """Every run's folder lives here."""
    return sagalab_home() / "runs"


def run_dir(scenario: str, label: str, namespace: str = "") -> Path:
    """A new, empty run folder, created here: named after the time, the namespace (participants sharing a
    folder never collide), the scenario and the label, with ``-2``, ``-3``... when a run of the same name
    started in the same second."""
    name = "-".join(p for p in (time.strftime("%Y%m%d-%H%M%S"), namespace, scenario, label) if p)
    runs = runs_dir()
    runs.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = runs / (name if n == 1 else f"{name}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"too many runs named {name} in {runs}")
