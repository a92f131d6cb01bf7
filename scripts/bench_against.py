"""Is this checkout cheaper than another commit? Both benched on this machine, taking turns, in one sitting.

CPU per saga is the figure that holds on a shared machine, but only between runs made minutes apart: the
machine's speed drifts by a third within the hour, and from one machine to the next by half. So a claim such
as "half the CPU of the code the issue was filed on" is measured here, not read off two tables of two days.

The script checks REF out into a worktree of its own (``$SAGALAB_HOME/against/<commit>``, set up once with
its own ``make setup``), then runs REF's ``sagalab bench`` and this checkout's in turn, PAIRS times, swapping
which goes first each pair so a drift in the machine's speed falls on both, and prints each mode's medians:
CPU ms per saga of the coordinator, the participants, all services and the broker, and the throughput ratio
to the raw chain. It reads the JSON each bench writes by key, so a commit from before a field existed still
compares on the fields it has. The worktree stays for the next comparison; ``git worktree remove PATH`` drops it.

``.venv/bin/python scripts/bench_against.py REF [--pairs N] [-- BENCH OPTIONS]``; the bench options default to
``--mode both --orders 2000 --concurrency 100 --failure-rate 0.1``, and must be ones both commits know.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sagalab.bench.measure import NOT_SERVICES
from sagalab.bench.stats import median
from sagalab.bench.tenths_view import ANSWERERS, COORDINATORS
from shared.config import sagalab_home

Figures = dict[str, dict[str, float | None]]  # mode -> figure -> value
HERE = Path(__file__).resolve().parent.parent
DEFAULT_BENCH = ["--mode", "both", "--orders", "2000", "--concurrency", "100", "--failure-rate", "0.1"]
FIGURES = ("coordinator", "participants", "services", "broker", "ratio")


def _git(*args: str, cwd: Path = HERE) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def commit_of(ref: str) -> str:
    """The full hash REF names, or the script ends saying the name was wrong (or that this is no git checkout)."""
    try:
        return _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    except (subprocess.CalledProcessError, FileNotFoundError):
        sys.exit(f"bench_against: {ref!r} names no commit of the git checkout at {HERE}")


def checkout_of(commit: str) -> Path:
    """A worktree of the commit, set up with its own virtualenv; made once, found again on the next call."""
    tree = sagalab_home().resolve() / "against" / commit[:12]
    if not (tree / ".git").exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "add", "--detach", str(tree), commit)
    if not (tree / ".venv" / ".installed").exists():
        print(f"setting up {commit[:12]} in {tree} (make setup)", flush=True)
        with (tree / "setup.log").open("w") as log:
            if subprocess.run(["make", "setup"], cwd=tree, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                sys.exit(f"bench_against: make setup failed in {tree}; its output is in {tree / 'setup.log'}")
    return tree


def bench(checkout: Path, options: Sequence[str], out: Path) -> Figures:
    """Run one checkout's bench with its own interpreter, in its own folder; its figures per mode."""
    log = out.with_suffix(".log")
    with log.open("w") as sink:
        done = subprocess.run([str(checkout / ".venv" / "bin" / "sagalab"), "bench", *options, "--json", str(out)],
                              cwd=checkout, stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    if done.returncode != 0 or not out.exists():
        sys.exit(f"bench_against: the bench in {checkout} failed (exit {done.returncode}); its output is in {log}")
    return figures(json.loads(out.read_text()))


def figures(result: dict[str, Any]) -> Figures:
    """Per mode: CPU ms per saga of the coordinator, the participants, every service and the broker, and the
    throughput ratio to the raw chain of the same run."""
    out: Figures = {}
    for mode, both in result["modes"].items():
        saga, raw = both["saga"], both["raw"]
        cpu: dict[str, float | None] = saga["cpu_s"]
        settled = saga.get("settled") or saga["orders"]

        def ms(names: Sequence[str], cpu: dict[str, float | None] = cpu, settled: int = settled) -> float:
            return round(sum(cpu.get(n) or 0.0 for n in names) * 1000 / settled, 3)

        tput, bar = saga.get("throughput_per_s"), raw.get("throughput_per_s")
        out[mode] = {
            "coordinator": ms(COORDINATORS),
            "participants": ms(ANSWERERS),
            "services": ms([n for n in cpu if n not in NOT_SERVICES]),
            "broker": ms(["broker"]),
            "ratio": round(tput / bar, 3) if tput and bar else None,
        }
    return out


def report(ref: str, theirs: list[Figures], ours: list[Figures]) -> list[str]:
    """Per mode, one line per figure: REF's median, this checkout's, the change, and every pair's values."""
    lines = []
    for mode in ours[0] if ours else []:
        lines.append(f"{mode:30} {ref[:12]:>12} {'this':>8} {'change':>8}   each pair")
        for name in FIGURES:
            before = [run.get(mode, {}).get(name) for run in theirs]
            after = [run[mode][name] for run in ours]
            a, b = median(before), median(after)
            change = f"{100 * (b - a) / a:+.1f}%" if a and b is not None else "n/a"
            pairs = ", ".join(f"{x} -> {y}" for x, y in zip(before, after, strict=True))
            label = "throughput ratio to raw" if name == "ratio" else f"{name} CPU ms/saga"
            lines.append(f"  {label:28} {a!s:>12} {b!s:>8} {change:>8}   {pairs}")
    return lines


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], epilog="after --: sagalab bench options, the same for both"
    )
    p.add_argument("ref", help="the commit to measure against (a hash, tag or branch)")
    p.add_argument("--pairs", type=int, default=3, help="runs of each, taking turns (default: 3)")
    cut = list(argv).index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])  # what follows -- is the bench's, passed on as it is
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    options = list(argv[cut + 1 :]) or DEFAULT_BENCH
    if any(o == "--json" or o.startswith("--json=") for o in options):
        p.error("the script gives each bench its own --json; leave it out")
    commit = commit_of(args.ref)
    if not (HERE / ".venv" / "bin" / "sagalab").exists():
        p.error(f"this checkout has no {HERE / '.venv'}: run make setup first")
    theirs_tree = checkout_of(commit)
    out = sagalab_home().resolve() / "against" / "runs" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    theirs: list[Figures] = []
    ours: list[Figures] = []
    for i in range(1, args.pairs + 1):
        turns = [("ref", theirs_tree, theirs), ("this", HERE, ours)]
        for who, tree, runs in turns if i % 2 else reversed(turns):
            print(f"pair {i}: {who} ({os.path.relpath(tree)}), load {os.getloadavg()[0]:.1f}", flush=True)
            runs.append(bench(tree, options, out / f"{who}-{i}.json"))
    print("\n".join(report(args.ref, theirs, ours)))
    print(f"runs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
