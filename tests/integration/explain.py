"""Why a scenario run missed its expectation, written out in full for a failing test's message.

pytest shortens a tuple or a model in an assertion message; a golden's diff cut to one line cannot be read, and a
run that fails once in a loaded CI run cannot be run again to see more. So: the failures, the whole diff, and the
tap's records of the run (type, sender, ids, cause), from which the transcript was built."""

from __future__ import annotations

import json
from pathlib import Path

from scenarios.result import RunResult


def not_met(result: RunResult) -> str:
    lines = ["", *result.expectation_failures]
    if result.golden is not None and result.golden.diff:
        lines += ["golden diff:", *result.golden.diff]
    trace = Path(result.run_dir) / "trace.jsonl" if result.run_dir else None
    if trace is not None and trace.exists():
        lines.append(f"the tap's records ({trace}):")
        for row in map(json.loads, trace.read_text().splitlines()):
            lines.append(f"  {row['t']:.6f} {row['type']} {row['sender']} -> {','.join(row['receivers'])} "
                         f"id={row['message_id']} cause={row['causation_id']} order={row['correlation_id']}")  # fmt: skip
    return "\n".join(lines)
