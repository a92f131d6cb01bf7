"""The fault lab: every fault scenario in both modes, each checked by the oracle against its invariant."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import golden, runner
from scenarios.catalogue import SCENARIOS
from scenarios.result import OrderStory, RunResult
from shared.config import Mode
from tests.integration.explain import not_met

pytestmark = pytest.mark.broker

NEEDS_BROKER_CONTROL = {"broker-restart", "connections-closed", "light-broker-crash"}
SLOW = {"light-broker-crash"}
"""Runs until its deadline on purpose (orders are lost): minutes per mode."""
SLOW_IN_MODE = {
    ("unsafe-no-pinning", "orchestration"),  # runs to its 30 s deadline on purpose (the saga is stuck)
    ("compensation-fails", "orchestration"),  # the same run as test_orchestrator_hard_cases', which checks more
    ("slow-service", "choreography"),  # waits out the deadline watcher; its alert is checked in test_fault_kinds
}
"""Pairs that run with the slow set, to keep the default run under 15 minutes: each is run or checked elsewhere."""

MAYBE = range(0, 2)
"""A count that depends on whether a late copy arrived before the run settled and its services stopped."""

DEFENCES: dict[tuple[str, Mode], dict[str, int | range]] = {
    # Payment's inbox drops the copied OutOfStock; the order service's sees it too unless the saga ended first
    ("duplicate-delivery", "choreography"): {"duplicates_dropped": range(1, 3)},
    ("duplicate-delivery", "orchestration"): {"duplicates_dropped": 1, "strays_ignored": MAYBE},  # replayed answer
    ("duplicate-new-id", "choreography"): {"business_key_answers": 1},
    ("duplicate-new-id", "orchestration"): {"business_key_answers": 1, "strays_ignored": MAYBE},
    ("express-rerun-after-compensation", "orchestration"): {"barrier_refusals": 1},
    ("malformed-message", "choreography"): {"dead_letters": 3},
    ("malformed-message", "orchestration"): {"dead_letters": 3},
    ("transient-failure", "choreography"): {"redeliveries": 2, "retries": 0},
    ("transient-failure", "orchestration"): {"retries": 2, "redeliveries": 0},
    ("compensation-fails", "choreography"): {"redeliveries": 5, "dead_letters": 1},
    ("compensation-fails", "orchestration"): {"retries": 5, "dead_letters": 0},
    ("slow-service", "orchestration"): {"task_timeouts": 2, "retries": 1, "barrier_refusals": 1},
}  # fmt: skip
"""The work a defence must show in the result: a count exactly, or within a range."""

RELEASE_FAILED_REFUNDED = [("ReleaseStock", "failed"), ("RefundPayment", "done")]
STORIES: dict[tuple[str, Mode], dict[str, object]] = {
    ("transient-failure", "choreography"): {"outcome": "completed", "attempts": {"ChargePayment": 3}},
    ("transient-failure", "orchestration"): {"outcome": "completed", "attempts": {"ChargePayment": 3},
                                             "retry_delays_s": {"ChargePayment": [1.0, 2.0]}},
    ("compensation-fails", "choreography"): {"failed_step": "ScheduleShipment", "attempts": {"ReleaseStock": 6},
                                             "compensations": RELEASE_FAILED_REFUNDED},
    ("compensation-fails", "orchestration"): {"failed_step": "ScheduleShipment", "attempts": {"ReleaseStock": 6},
                                              "compensations": RELEASE_FAILED_REFUNDED},
    ("slow-service", "orchestration"): {"failed_step": "ScheduleShipment", "compensations": [
        ("CancelShipment", "needless"), ("ReleaseStock", "done"), ("RefundPayment", "done")]},
}  # fmt: skip
"""What the one order's story must say (the keys given)."""


def _told(story: OrderStory, keys: object) -> dict[str, object]:
    told = story.model_dump() | {"compensations": [(c.step, c.result) for c in story.compensations]}
    return {k: told[k] for k in keys}  # type: ignore[attr-defined]


def check_defences_and_story(scenario: str, mode: Mode, result: RunResult) -> None:
    """The defences did the work this scenario makes them do, and the order's story tells what happened."""
    for key, count in DEFENCES.get((scenario, mode), {}).items():
        actual = getattr(result.defences, key)
        assert actual in count if isinstance(count, range) else actual == count, (key, result.defences)
    if story := STORIES.get((scenario, mode)):
        (told,) = result.stories.values()
        assert _told(told, story) == story, told
        if scenario == "compensation-fails":
            assert told.parked_reason and "ReleaseStock failed" in told.parked_reason


def _marked(scenario: str, mode: Mode) -> object:
    marks = (pytest.mark.broker_control,) if scenario in NEEDS_BROKER_CONTROL else ()
    if scenario in SLOW or (scenario, mode) in SLOW_IN_MODE:
        marks += (pytest.mark.slow,)
    return pytest.param(scenario, mode, marks=marks, id=f"{scenario}-{mode}")


@pytest.mark.parametrize(("scenario", "mode"), [_marked(s.name, m) for s in SCENARIOS.faults()
                                                for m in ("choreography", "orchestration")])  # fmt: skip
async def test_fault_scenario_meets_its_invariant(
    scenario: str, mode: Mode, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """The fault happens, and the run ends exactly as the scenario expects in this mode (the oracle decides), and
    tells the story its golden transcript keeps, when it keeps one (scenarios/golden/)."""
    result = await runner.run(runner.RunOptions(SCENARIOS[scenario], mode, amqp_url, tmp_path, namespace))
    assert result.expectation_met, not_met(result)
    if mode in golden.load(golden.golden_path(SCENARIOS[scenario])):  # its golden transcript, compared in this run
        assert result.golden is not None and result.golden.checked and result.golden.matched, not_met(result)
    injected = result.extra["faults_injected"]
    assert not any(k.startswith(("never", "injector failed")) for k in injected), injected
    if SCENARIOS[scenario].injectors.get(mode):
        assert injected, "the runner injected nothing"
    if SCENARIOS[scenario].faults.get(mode) and any("crash" in f for fs in SCENARIOS[scenario].faults[mode].values()
                                                   for f in fs):  # fmt: skip
        assert result.extra["restarts"], "a crash fault must have killed and restarted a service"
    check_defences_and_story(scenario, mode, result)
