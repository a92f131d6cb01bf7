"""Bring your own participant: the example payment service (outside the package, protocol only) stands in for
the built-in one in both modes, and the oracle judges it through the ledger query."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sagalab.cli import main
from scenarios import runner
from scenarios.catalogue import SCENARIOS
from scenarios.ledger import LedgerUnanswered, ProtocolLedger
from shared.config import Mode
from shared.transport.broker import Broker
from shared.transport.topology import Binding, QueueSpec, Topology

pytestmark = pytest.mark.broker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "participants" / "payment" / "payment_service.py"
MODES: tuple[Mode, ...] = ("choreography", "orchestration")


def _example() -> dict[str, str]:
    return {"payment": shlex.join([sys.executable, str(EXAMPLE)])}


def _options(scenario: str, mode: Mode, amqp_url: str, namespace: str, out: Path, **extra: object) -> runner.RunOptions:
    return runner.RunOptions(SCENARIOS[scenario], mode, amqp_url, out, namespace, **extra)  # type: ignore[arg-type]


def _compare(scenario: str, amqp_url: str, namespace: str, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """``sagalab compare`` as a user types it (in this process), and the result JSON it wrote."""
    code = main(["compare", scenario, "--amqp-url", amqp_url, "--namespace", namespace, "--out", str(out),
                 "--json", str(out.with_suffix(".json")), *extra])  # fmt: skip
    return code, json.loads(out.with_suffix(".json").read_text())


@pytest.mark.parametrize("scenario", ["out-of-stock", pytest.param("happy-path", marks=pytest.mark.slow)])
def test_the_example_payment_is_judged_like_the_built_in_one(
    scenario: str, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """``compare --participant payment=...``: in both modes the example payment ends the scenario as the built-in
    one does: exit 0, consistent, as expected, with the very same messages. The built-in comparison reads every
    participant through the ledger query (``--ledger query``), so the query is checked against the built-in
    services too. (happy-path is marked slow: out-of-stock already crosses every payment path.)"""
    code, built_in = _compare(scenario, amqp_url, namespace, tmp_path / "built-in", "--ledger", "query")
    assert code == 0, built_in
    code, yours = _compare(scenario, amqp_url, namespace, tmp_path / "yours", "--participant",
                           f"payment={shlex.join([sys.executable, str(EXAMPLE)])}")  # fmt: skip
    assert code == 0, yours
    for mode in MODES:
        for result in (built_in[mode], yours[mode]):
            assert result["consistency"] == {"ok": True, "violations": []}, (mode, result["consistency"])
            assert result["expectation_met"], (mode, result["expectation_failures"])
        assert yours[mode]["messages"]["by_type"] == built_in[mode]["messages"]["by_type"], mode
        assert yours[mode]["orders"] == built_in[mode]["orders"], mode
        data = tmp_path / "yours" / mode / "data"
        assert (data / "payment-example.db").exists() and not (data / "payment.db").exists()  # its own store


async def test_the_oracle_reads_the_participants_ledger_not_its_messages(
    amqp_url: str, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``EXAMPLE_DOUBLE_CHARGE=1`` the example sends the right messages but records every charge twice: only
    its ledger says so, and the verdict flags the money rules."""
    monkeypatch.setenv("EXAMPLE_DOUBLE_CHARGE", "1")
    result = await runner.run(_options("happy-path", "orchestration", amqp_url, namespace, tmp_path,
                                       participants=_example()))  # fmt: skip
    rules = {v.rule for v in result.consistency.violations}
    assert {"money.single-charge", "money.net"} <= rules, rules
    assert not result.expectation_met and result.orders.inconsistent == 1
    assert result.messages.by_type.get("PaymentCharged") == 1  # the messages alone look fine


async def _answering(amqp_url: str, namespace: str, timeout_s: float = 30.0) -> None:
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    ledger = ProtocolLedger(broker)
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:
            try:
                await ledger.ask("payment", None, timeout_s=1.0)
                return
            except LedgerUnanswered:
                if asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.1)  # polling with a deadline: the participant is starting
    finally:
        await ledger.close()
        await broker.close()


async def test_a_participant_that_does_not_answer_the_ledger_query_is_named(amqp_url: str, namespace: str) -> None:
    """Nothing bound to ``payment.QueryLedger``: unanswered at once; a queue nobody consumes: unanswered after
    the deadline. Either way the error names the participant, for the verdict to say."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    ledger = ProtocolLedger(broker, timeout_s=0.5)
    try:
        with pytest.raises(LedgerUnanswered, match=r"payment did not answer the ledger query: nothing takes"):
            await ledger.ask("payment", None)
        await broker.declare_queue(QueueSpec("payment", (Binding("commands", "payment.QueryLedger"),)))
        with pytest.raises(LedgerUnanswered, match=r"payment did not answer the ledger query within 0.5s"):
            await ledger.ask("payment", ["o-1"])
    finally:
        await ledger.close()
        await broker.close()


@pytest.mark.slow
async def test_a_participant_silent_on_the_ledger_query_fails_the_run_saying_so(
    amqp_url: str, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``EXAMPLE_SILENT_LEDGER=1``: the example answers the ping, so orders are placed and the saga ends, but
    never reports its effects: the verdict names it instead of judging an empty ledger."""
    monkeypatch.setenv("EXAMPLE_SILENT_LEDGER", "1")
    result = await runner.run(_options("out-of-stock", "orchestration", amqp_url, namespace, tmp_path,
                                       participants=_example()))  # fmt: skip
    assert [(v.rule, v.detail) for v in result.consistency.violations] == [
        ("ledger.unanswered", "payment did not answer the ledger query within 10s")
    ]
    assert not result.expectation_met


async def test_a_participant_you_run_yourself_is_waited_for_and_judged(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """``--participant payment=external``: the runner starts no payment, waits until the one already running
    answers the ledger query, judges it, and leaves it running."""
    env = {**os.environ, "AMQP_URL": amqp_url, "SAGALAB_NAMESPACE": namespace, "SAGALAB_DATA_DIR": str(tmp_path),
           "SAGALAB_PARENT_PIPE": "1"}  # fmt: skip
    yours = await asyncio.create_subprocess_exec(sys.executable, str(EXAMPLE), env=env, stdin=asyncio.subprocess.PIPE)
    try:
        await _answering(amqp_url, namespace)  # serving before the run starts, as a participant you run would be
        result = await runner.run(_options("out-of-stock", "orchestration", amqp_url, namespace, tmp_path / "run",
                                           participants={"payment": "external"}))  # fmt: skip
        assert result.consistency.ok and result.expectation_met, result.consistency.violations
        assert result.messages.by_type["PaymentRefunded"] == 1
        assert yours.returncode is None  # still serving: the run neither started nor stopped it
    finally:
        assert yours.stdin is not None
        yours.stdin.close()  # SAGALAB_PARENT_PIPE: it stops when its parent's pipe closes
        await asyncio.wait_for(yours.wait(), 30)


NODE_EXAMPLE = EXAMPLE.parents[1] / "payment-node"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="the JavaScript example needs Node 18+ and npm (apt-get install nodejs npm)")  # fmt: skip
def test_the_javascript_example_is_judged_like_the_built_in_one(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Another language, another store: the Node example passes out-of-stock in both modes, with the built-in
    service's message counts (installs its one dependency with ``npm ci`` first)."""
    if not (NODE_EXAMPLE / "node_modules" / "amqplib").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_EXAMPLE)], check=True, timeout=300)
    code, yours = _compare("out-of-stock", amqp_url, namespace, tmp_path / "yours", "--participant",
                           f"payment=node {NODE_EXAMPLE / 'payment.mjs'}")  # fmt: skip
    assert code == 0, yours
    expected = {"choreography": 5, "orchestration": 7}  # the built-in counts the Python example test measures
    for mode in MODES:
        assert yours[mode]["consistency"]["ok"] and yours[mode]["expectation_met"], yours[mode]
        assert yours[mode]["messages"]["total"] == expected[mode]
        assert (tmp_path / "yours" / mode / "data" / "payment-node-example.json").exists()
