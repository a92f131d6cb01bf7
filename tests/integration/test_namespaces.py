"""Namespaces sharing one broker without seeing each other (the compose stack and `--attach` are tested in
test_compose_stack.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from sagalab.clean import clean
from scenarios import runner
from scenarios.catalogue import SCENARIOS

pytestmark = pytest.mark.broker


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
