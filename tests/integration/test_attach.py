"""Scenarios against services that are already running (the compose stack's layout), and namespaces
sharing one broker without seeing each other."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.clean import clean
from scenarios.processes import Fleet, ServiceProcess
from scenarios.topologies import services
from shared.config import MODES, Settings

pytestmark = pytest.mark.broker


@asynccontextmanager
async def stack(amqp_url: str, namespace: str, root: Path) -> AsyncIterator[Path]:
    """Both modes' services serving as compose runs them: namespace <ns>-<mode>, a data folder each."""
    fleet = Fleet()
    for mode in MODES:
        for service in services(mode):
            settings = Settings(service=service, mode=mode, amqp_url=amqp_url, namespace=f"{namespace}-{mode}",
                                data_dir=root / mode / service)  # fmt: skip
            fleet.processes.append(ServiceProcess(settings, root / f"{mode}-{service}.log"))
    for p in fleet.processes:
        p.settings.data_dir.mkdir(parents=True, exist_ok=True)
    fleet.start()
    try:
        await fleet.wait_ready()
        yield root
    finally:
        await fleet.stop()
        for mode in MODES:
            await clean(amqp_url, f"{namespace}-{mode}", data_root=root / "none")


def _compare(amqp_url: str, namespace: str, stack_dir: Path, out: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "compare", "out-of-stock", "--attach", str(stack_dir), "--namespace",
         namespace, "--amqp-url", amqp_url, "--json", str(out), "--out", str(out.parent / out.stem)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())  # type: ignore[no-any-return]


async def test_compare_drives_a_running_stack_twice_without_the_runs_sharing_stock(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """compare --attach uses the services already serving; a second run against the same stack is just as clean."""
    async with stack(amqp_url, namespace, tmp_path / "stack") as stack_dir:
        for attempt in range(2):
            result = await asyncio.to_thread(_compare, amqp_url, namespace, stack_dir, tmp_path / f"c{attempt}.json")
            for mode, hops in (("choreography", 5), ("orchestration", 7)):
                r = result[mode]
                assert r["orders"]["compensated"] == 1 and r["consistency"]["ok"], r
                assert r["messages"]["total"] == hops


def test_a_fault_scenario_is_refused_in_attach_mode(tmp_path: Path) -> None:
    """Faults need the runner to own the processes: --attach with one is a usage error."""
    done = subprocess.run([sys.executable, "-m", "scenarios.cli", "run", "crash-after-commit", "--mode",
                           "choreography", "--attach", str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "without --attach" in done.stdout


async def test_two_namespaces_run_at_once_on_one_broker_and_never_see_each_other(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Two participants run the mixed scenario at the same time: both consistent, each trace only its own."""
    names = [f"{namespace}-a", f"{namespace}-b"]
    try:
        results = await asyncio.gather(*(
            runner.run(runner.RunOptions(SCENARIOS["mixed"], "choreography", amqp_url, tmp_path / ns, ns, orders=30,
                                         seed=i))
            for i, ns in enumerate(names)
        ))  # fmt: skip
    finally:
        for ns in names:
            await clean(amqp_url, ns, data_root=tmp_path / "none")
    for ns, result in zip(names, results, strict=True):
        assert result.expectation_met and result.consistency.ok, result.expectation_failures
        traced = [json.loads(line) for line in (tmp_path / ns / "trace.jsonl").read_text().splitlines()]
        assert {r["correlation_id"] for r in traced} == set(result.outcomes)
        assert {r["exchange"].split(".")[0] for r in traced} == {ns}
        assert result.messages.total == len(traced)
