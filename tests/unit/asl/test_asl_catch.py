"""Catch: which catcher handles an error, what the error output looks like, and which errors cannot be caught."""

from __future__ import annotations

from typing import Any

import pytest

from .support import at, entered, machine, of_type, task

DONE = {"Type": "Pass", "End": True}


def caught(catch: list[dict[str, Any]], error: str, input: Any = None, **task_fields: Any) -> Any:
    """Run one failing task with `catch`; return the finished execution."""
    states = {"T": task(Catch=catch, Next="Ok", **task_fields), "Ok": DONE, **{c["Next"]: DONE for c in catch}}
    interpreter = machine(states)
    step = interpreter.start("e", {"order": 7} if input is None else input, at(0))
    step = interpreter.task_failed(step.execution, step.dispatches[0].token, error, "why", at(1))
    return step


def test_the_first_matching_catcher_wins() -> None:
    """Catchers are tried in order: the first whose ErrorEquals matches is used."""
    catch = [
        {"ErrorEquals": ["Other"], "Next": "A"},
        {"ErrorEquals": ["Boom", "Bang"], "Next": "B"},
        {"ErrorEquals": ["States.ALL"], "Next": "C"},
    ]
    step = caught(catch, "Bang")
    assert entered(step.events) == ["B"]
    assert step.execution.status == "SUCCEEDED"
    assert caught(catch, "Zap").events[-3].details["name"] == "C"


def test_default_catch_result_path_replaces_the_input_with_the_error_output() -> None:
    """Without ResultPath, the next state receives {"Error": name, "Cause": text}."""
    step = caught([{"ErrorEquals": ["States.ALL"], "Next": "A"}], "Boom")
    assert step.execution.output == {"Error": "Boom", "Cause": "why"}


def test_catch_result_path_merges_the_error_into_the_raw_state_input() -> None:
    """Catch ResultPath $.error.detail adds the error output beside the state's original (raw) input."""
    step = caught([{"ErrorEquals": ["Boom"], "Next": "A", "ResultPath": "$.error.detail"}], "Boom",
                  InputPath="$.order", input={"order": {"id": 1}})
    assert step.execution.output == {"order": {"id": 1}, "error": {"detail": {"Error": "Boom", "Cause": "why"}}}


def test_catch_result_path_null_passes_the_original_input_on() -> None:
    """Catch ResultPath null discards the error output."""
    step = caught([{"ErrorEquals": ["Boom"], "Next": "A", "ResultPath": None}], "Boom")
    assert step.execution.output == {"order": 7}


def test_catch_does_not_mutate_the_raw_input() -> None:
    """Merging the error output copies only the containers along the ResultPath."""
    original = {"order": {"id": 1}, "untouched": [1, 2]}
    step = caught([{"ErrorEquals": ["Boom"], "Next": "A", "ResultPath": "$.order.error"}], "Boom", input=original)
    assert original == {"order": {"id": 1}, "untouched": [1, 2]}
    assert step.execution.output["untouched"] is original["untouched"]


def test_an_error_no_catcher_matches_fails_the_execution() -> None:
    """An uncaught error ends the execution FAILED with the task's error and cause."""
    step = caught([{"ErrorEquals": ["Other"], "Next": "A"}], "Boom")
    assert (step.execution.status, step.execution.error, step.execution.cause) == ("FAILED", "Boom", "why")
    assert step.events[-1].type == "ExecutionFailed"
    assert step.events[-1].details == {"error": "Boom", "cause": "why"}


@pytest.mark.parametrize(("error", "caught_by"), [("States.Timeout", "B"), ("Custom", "A")])
def test_task_failed_catches_everything_but_timeout(error: str, caught_by: str) -> None:
    """States.TaskFailed matches any error except States.Timeout."""
    catch = [{"ErrorEquals": ["States.TaskFailed"], "Next": "A"}, {"ErrorEquals": ["States.ALL"], "Next": "B"}]
    assert entered(caught(catch, error).events) == [caught_by]


def test_states_all_does_not_catch_states_runtime() -> None:
    """An InputPath that selects nothing raises States.Runtime, which even Catch States.ALL cannot handle."""
    interpreter = machine(
        {"T": task(InputPath="$.missing", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "A"}]), "A": DONE}
    )
    step = interpreter.start("e", {}, at(0))
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")
    assert step.dispatches == []
    assert of_type(step.events, "EvaluationFailed")[0].details["location"] == "InputPath"


def test_a_reported_runtime_error_is_not_retried_or_caught_either() -> None:
    """A participant reporting States.Runtime fails the execution despite Retry and Catch on States.ALL."""
    interpreter = machine({"T": task(Retry=[{"ErrorEquals": ["States.ALL"]}],
                                     Catch=[{"ErrorEquals": ["States.ALL"], "Next": "A"}]), "A": DONE})
    step = interpreter.start("e", {}, at(0))
    step = interpreter.task_failed(step.execution, step.dispatches[0].token, "States.Runtime", "bad", at(1))
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")


@pytest.mark.parametrize("field", ["Parameters", "ResultSelector"])
def test_a_task_path_that_selects_nothing_fails_the_execution_with_states_runtime(field: str) -> None:
    """A Parameters or ResultSelector `.$` path that selects nothing is a data bug: the execution fails with
    States.Runtime, which neither Retry nor Catch on States.ALL handles (so no compensation runs)."""
    handlers = dict(Retry=[{"ErrorEquals": ["States.ALL"]}], Catch=[{"ErrorEquals": ["States.ALL"], "Next": "A"}])
    interpreter = machine({"T": task(**{field: {"id.$": "$.nope"}}, **handlers), "A": DONE})
    step = interpreter.start("e", {"x": 1}, at(0))
    if field == "ResultSelector":
        step = interpreter.task_succeeded(step.execution, step.dispatches[0].token, {"y": 2}, at(1))
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")
    assert "$.nope" in (step.execution.cause or "")
    assert "A" not in entered(step.events)


def test_result_path_match_failure_is_catchable() -> None:
    """A ResultPath that cannot be applied (input is a string) raises States.ResultPathMatchFailure."""
    interpreter = machine({"T": task(ResultPath="$.r",
                                     Catch=[{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "A",
                                             "ResultPath": None}]), "A": DONE})
    step = interpreter.start("e", "just text", at(0))
    step = interpreter.task_succeeded(step.execution, step.dispatches[0].token, {"ok": True}, at(1))
    assert step.execution.status == "SUCCEEDED"
    assert step.execution.output == "just text"
    assert of_type(step.events, "EvaluationFailed")[0].details["error"] == "States.ResultPathMatchFailure"


def test_intrinsic_failure_is_catchable() -> None:
    """An intrinsic that fails at run time raises States.IntrinsicFailure, which Catch handles."""
    interpreter = machine({"T": task(Parameters={"v.$": "States.StringToJson($.text)"},
                                     Catch=[{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "A"}]), "A": DONE})
    step = interpreter.start("e", {"text": "{not json"}, at(0))
    assert step.execution.output["Error"] == "States.IntrinsicFailure"
