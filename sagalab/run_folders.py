"""Where runs keep their databases, logs and traces: a new folder per run under ``.sagalab/runs``."""

from __future__ import annotations

import time
from pathlib import Path

from sagalab.exits import UsageError

RUNS_DIR = Path(".sagalab/runs")


def run_dir(scenario: str, label: str, namespace: str = "") -> Path:
    """A new, empty run folder, created here: named after the time, the namespace (participants sharing a
    folder never collide), the scenario and the label, with ``-2``, ``-3``... when a run of the same name
    started in the same second."""
    name = "-".join(p for p in (time.strftime("%Y%m%d-%H%M%S"), namespace, scenario, label) if p)
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = RUNS_DIR / (name if n == 1 else f"{name}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"too many runs named {name} in {RUNS_DIR}")
