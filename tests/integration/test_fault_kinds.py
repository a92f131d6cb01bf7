"""Every fault kind issue 13 asked for, run from the command line (``sagalab compare SCENARIO --fault ...``)
against the real broker: the defence absorbs it, and where an ``--unsafe`` switch turns the defence off,
the anomaly shows. The stories of the issue's "Done means" are here too, as the command lines
docs/faults.md gives. The default run keeps three; the rest are ``slow`` (``make test-slow``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scenarios.broker_control import BrokerControl

pytestmark = pytest.mark.broker

MODES = ("choreography", "orchestration")


def compare(tmp_path: Path, amqp_url: str, namespace: str, scenario: str, *args: str) -> dict[str, Any]:
    """``sagalab compare`` with these arguments; the result JSON of both modes."""
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "compare", scenario, *args, "--amqp-url", amqp_url,
                          "--namespace", namespace, "--out", str(tmp_path / "run"), "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=400)  # fmt: skip
    assert out.returncode in (0, 1), out.stdout + out.stderr  # 1: an expectation not met, which tests judge
    return json.loads((tmp_path / "r.json").read_text())  # type: ignore[no-any-return]


def rules(result: dict[str, Any]) -> set[str]:
    return {v["rule"] for v in result["consistency"]["violations"]}


def clean_run(result: dict[str, Any]) -> None:
    injected = result["extra"]["faults_injected"]
    assert not any(k.startswith(("never", "injector failed")) for k in injected), injected


def test_a_reply_lost_after_its_commit(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """``drop``: payment commits the charge and its outbox row, and the message never reaches the broker.
    Orchestration: the step's timeout and retry resend ChargePayment under the same id, payment's inbox
    replays the stored reply, and the order completes, charged once. Choreography: nobody waits for an event;
    the deadline watcher parks the saga and says after what it stopped (reported, not repaired)."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "payment:drop:PaymentCharged",
                   "--saga-deadline", "3")  # fmt: skip
    orchestration, choreography = data["orchestration"], data["choreography"]
    assert orchestration["consistency"]["ok"] and orchestration["orders"]["completed"] == 1, orchestration
    assert orchestration["messages"]["by_type"]["ChargePayment"] == 2  # the retry, same message id
    assert choreography["orders"]["completed"] == 0 and choreography["messages"]["by_type"].get("PaymentCharged") is None
    assert "termination.needs-attention" in rules(choreography)
    assert [a["kind"] for a in choreography["extra"]["alerts"]] == ["stalled"], choreography["extra"]["alerts"]


def test_a_lost_publish_a_crash_before_the_ack_the_same_order_twice_and_a_late_copy_are_absorbed(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Four faults in one run (a run's start-up is most of its cost), each absorbed by its own defence:

    - ``drop-at-publish``: the broker never confirms payment's first PaymentCharged; the outbox keeps the row
      and the relay's sweep publishes it;
    - ``crash:before-ack``: inventory commits, publishes, is confirmed and dies unacked; its inbox takes the
      redelivery as a duplicate;
    - ``resubmit``: the PlaceOrder again under a new message id, same order id, once the order has finished:
      the order id is the coordinator's key;
    - ``late``: the first step's trigger again under a new id after the order finished: the step is the
      participant's key. One charge, and each copy counted as ignored."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "payment:drop-at-publish:PaymentCharged",
                   "--fault", "orchestration/inventory:crash:before-ack:ReserveStock",
                   "--fault", "choreography/inventory:crash:before-ack:PaymentCharged",
                   "--fault", "lab:resubmit:after=end", "--fault", "choreography/lab:late:OrderPlaced",
                   "--fault", "orchestration/lab:late:ChargePayment")  # fmt: skip
    for mode in MODES:
        r = data[mode]
        clean_run(r)
        assert r["consistency"]["ok"] and r["orders"]["completed"] == 1, r
        assert r["messages"]["by_type"]["PlaceOrder"] == 2 and r["messages"]["by_type"]["StockReserved"] >= 1
        assert r["messages"]["ignored"] >= 2, r["messages"]  # the resubmitted order and the late step
        assert len(r["extra"]["faults_injected"]) == 2, r["extra"]["faults_injected"]
    # The kill comes after the confirm, so the saga may end before the supervisor restarts inventory: that the
    # fault struck is in inventory's own log, whatever the race.
    log = (tmp_path / "run" / "orchestration" / "logs" / "inventory.log").read_text()
    assert "fault: crashing (kill -9)" in log and "before-ack" in log, log[-2000:]


@pytest.mark.slow
def test_without_the_business_key_a_late_copy_charges_twice(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """The unsafe counterpart of ``late``: ``--unsafe no-business-key`` and the late trigger charges again."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "choreography/lab:late:OrderPlaced",
                   "--fault", "orchestration/lab:late:ChargePayment", "--unsafe", "no-business-key")  # fmt: skip
    for mode in MODES:
        assert "money.single-charge" in rules(data[mode]), data[mode]["consistency"]


@pytest.mark.slow
def test_without_the_outbox_a_publish_without_confirm_is_lost(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """The unsafe counterpart: ``--unsafe no-outbox`` publishes straight after the commit, so the failed publish
    is gone. Choreography: charged and parked (money.net); orchestration: the retry finds no stored reply and the
    Catch refunds: compensated, consistent."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "payment:drop-at-publish:PaymentCharged",
                   "--unsafe", "no-outbox", "--saga-deadline", "3")  # fmt: skip
    assert "money.net" in rules(data["choreography"])
    assert data["orchestration"]["consistency"]["ok"] and data["orchestration"]["orders"]["compensated"] == 1


@pytest.mark.slow
def test_late_and_held_messages_are_overtaken(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """``delay-publish``: inventory's first StockReserved goes out 7 s late, past orchestration's 5 s timeout:
    the retry is answered from the inbox and the late copy ignored. ``reorder``: payment's first
    PaymentCharged waits until its next message has gone out. Every order completes in both modes."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--orders", "3",
                   "--fault", "inventory:delay-publish:StockReserved:7:1", "--fault", "payment:reorder:PaymentCharged")  # fmt: skip
    for mode in MODES:
        r = data[mode]
        assert r["consistency"]["ok"] and r["orders"]["completed"] == 3, r
    assert data["orchestration"]["messages"]["by_type"]["ReserveStock"] == 4  # one retried past its timeout


@pytest.mark.slow
def test_killed_while_a_command_is_in_flight(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """``crash:in-flight``: the orchestrator dies once the broker confirmed its ChargePayment; restarted, its
    relay publishes the unconfirmed-in-the-database row again, payment's inbox answers from the stored reply."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "orchestrator:crash:in-flight:ChargePayment",
                   "--fault", "choreography/payment:crash:in-flight:PaymentCharged")  # fmt: skip
    for mode in MODES:
        assert data[mode]["consistency"]["ok"] and data[mode]["orders"]["completed"] == 1, data[mode]
    assert data["orchestration"]["extra"]["restarts"] == {"orchestrator": 1}


@pytest.mark.slow
def test_a_stray_reply_is_ignored_and_a_stray_event_is_acted_on_in_choreography(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """``stray``: a PaymentCharged for an order nobody placed, from payment's own user. The orchestrator awaits
    no such reply and ignores it (counted as stray); choreography's inventory cannot tell it from a real one
    and reserves stock: the oracle names it (stray.unknown-order)."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "lab:stray:PaymentCharged")
    orchestration, choreography = data["orchestration"], data["choreography"]
    assert orchestration["consistency"]["ok"] and orchestration["messages"]["stray"] == 1, orchestration["messages"]
    assert rules(choreography) == {"stray.unknown-order"}


# --- the stories of issue 13's "Done means", as command lines (docs/faults.md) ------------------------------


@pytest.mark.slow
def test_story_a_forward_step_that_lands_after_its_compensation(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Orchestration: payment handles ChargePayment for 12 s, the timeouts give up and the Catch refunds first;
    the charge then lands on payment's barrier and is refused. Choreography has no timer to overtake a step:
    the same story is a copy of the charge's trigger arriving after the order finished, ignored."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--fault", "orchestration/payment:delay:ChargePayment:12",
                   "--fault", "choreography/lab:late:OrderPlaced")  # fmt: skip
    orchestration = data["orchestration"]
    assert orchestration["consistency"]["ok"] and orchestration["orders"]["compensated"] == 1, orchestration
    assert orchestration["messages"]["refused"] >= 1
    assert data["choreography"]["consistency"]["ok"] and data["choreography"]["messages"]["ignored"] >= 1


@pytest.mark.slow
def test_story_a_step_that_never_answers(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Shipping takes 15 s (its trigger is ScheduleShipment in orchestration, StockReserved in choreography):
    orchestration times out, cancels and compensates, and the barrier refuses the shipment that lands after its
    cancellation; choreography's whole-saga deadline (--saga-deadline 5) reports the idle saga, which then ends
    when shipping answers."""
    data = compare(tmp_path, amqp_url, namespace, "happy-path",
                   "--fault", "orchestration/shipping:delay:ScheduleShipment:15",
                   "--fault", "choreography/shipping:delay:StockReserved:15", "--saga-deadline", "5")  # fmt: skip
    orchestration = data["orchestration"]
    assert orchestration["consistency"]["ok"] and orchestration["orders"]["compensated"] == 1, orchestration
    assert orchestration["messages"]["refused"] == 1
    assert [a["kind"] for a in data["choreography"]["extra"]["alerts"]] == ["stalled"]


@pytest.mark.slow
def test_story_a_compensation_that_never_succeeds_and_the_orchestrator_killed_while_compensating(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """Inventory's release fails for good for order -0000: the refund still runs and the order is parked naming
    the step. The orchestrator is killed once its ReleaseStock is confirmed, and carries on after the restart."""
    data = compare(tmp_path, amqp_url, namespace, "shipping-failure",
                   "--fault", "orchestration/inventory:bug:ReleaseStock:@-0000",
                   "--fault", "choreography/inventory:bug:ShipmentFailed:@-0000",
                   "--fault", "orchestrator:crash:in-flight:ReleaseStock")  # fmt: skip
    for mode in MODES:
        assert rules(data[mode]) == {"stock.left-behind", "termination.needs-attention"}, data[mode]["consistency"]
    assert data["orchestration"]["extra"]["restarts"] == {"orchestrator": 1}


@pytest.mark.slow
def test_story_the_whole_saga_deadline_of_orchestration(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """Orchestration's whole-saga deadline is the definition's top-level TimeoutSeconds: with 3 s, a shipping step
    that takes 8 s times the execution out. As in AWS Step Functions an execution timeout is caught by no
    Catch: the order is parked naming States.Timeout, with nothing compensated (reported, not repaired, like
    choreography's watcher)."""
    definition = json.loads((Path(__file__).resolve().parents[2] / "orchestration" / "checkout.asl.json").read_text())
    definition["TimeoutSeconds"] = 3
    path = tmp_path / "short.asl.json"
    path.write_text(json.dumps(definition))
    out = subprocess.run([sys.executable, "-m", "sagalab.cli", "run", "happy-path", "--mode", "orchestration",
                          "--definition", str(path), "--fault", "shipping:delay:ScheduleShipment:8",
                          "--amqp-url", amqp_url, "--namespace", namespace, "--out", str(tmp_path / "run"),
                          "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)  # fmt: skip
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["orders"]["completed"] == 0, out.stdout + out.stderr
    parked = [v["detail"] for v in result["consistency"]["violations"] if v["rule"] == "termination.needs-attention"]
    assert parked and "States.Timeout" in parked[0], result["consistency"]


@pytest.mark.slow
def test_a_paused_broker_blocks_publishers_and_the_sagas_resume(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """``broker:pause``: the memory alarm raised on purpose blocks every publisher for 3 s (other runs on the
    broker too: slow, never alongside other broker tests), then the watermark is put back; every order
    completes, and the broker's watermark is what it was."""
    control = BrokerControl.find(amqp_url)
    if control is None:
        pytest.skip("pausing the broker needs rabbitmqctl")
    before = asyncio.run(control.memory_watermark())
    data = compare(tmp_path, amqp_url, namespace, "happy-path", "--orders", "6",
                   "--fault", "broker:pause:3@PaymentCharged#2")  # fmt: skip
    for mode in MODES:
        r = data[mode]
        assert r["consistency"]["ok"] and r["orders"]["completed"] == 6, r
        assert r["extra"]["faults_injected"] == {"broker paused": 1}
    assert asyncio.run(control.memory_watermark()) == before

