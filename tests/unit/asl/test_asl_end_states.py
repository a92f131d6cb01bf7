"""Succeed and Fail states, End on other states, and the guard against endless loops without waiting."""

from __future__ import annotations

from typing import Any

import pytest

from .support import at, machine


def run(states: dict[str, Any], input: Any) -> Any:
    return machine(states).start("e", input, at(0))


def test_succeed_applies_input_and_output_paths() -> None:
    """Succeed passes on its effective input through OutputPath as the execution output."""
    step = run({"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}, {"a": {"b": 2}})
    assert (step.execution.status, step.execution.output) == ("SUCCEEDED", 2)
    assert [e.type for e in step.events] == ["ExecutionStarted", "SucceedStateEntered", "SucceedStateExited",
                                             "ExecutionSucceeded"]


def test_end_true_finishes_the_execution_with_the_state_output() -> None:
    """A Pass with End true ends the execution successfully with its output."""
    step = run({"P": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": True}}, {"x": 1})
    assert step.execution.output == {"x": 1, "r": "done"}
    assert step.execution.finished_at == at(0)


def test_fail_reports_its_error_and_cause() -> None:
    """Fail ends the execution FAILED with its Error and Cause."""
    step = run({"F": {"Type": "Fail", "Error": "OrderRejected", "Cause": "out of stock"}}, {})
    assert (step.execution.status, step.execution.error, step.execution.cause) == ("FAILED", "OrderRejected",
                                                                                   "out of stock")
    assert [e.type for e in step.events][-2:] == ["FailStateEntered", "ExecutionFailed"]
    assert step.events[-1].details == {"error": "OrderRejected", "cause": "out of stock"}


def test_fail_reads_error_and_cause_from_paths_and_intrinsics() -> None:
    """ErrorPath reads the raw input; CausePath may be an intrinsic such as States.Format."""
    states = {"F": {"Type": "Fail", "ErrorPath": "$.code", "CausePath": "States.Format('item {} missing', $.item)"}}
    step = run(states, {"code": "E42", "item": "sku-1"})
    assert (step.execution.error, step.execution.cause) == ("E42", "item sku-1 missing")


@pytest.mark.parametrize("input", [{"code": 5}, {}])
def test_fail_error_path_must_give_a_string(input: Any) -> None:
    """An ErrorPath that selects nothing or a non-string fails the execution with States.Runtime instead."""
    step = run({"F": {"Type": "Fail", "ErrorPath": "$.code"}}, input)
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")


def test_fail_without_error_fails_with_no_error_name() -> None:
    """A bare Fail state (as in booking-saga-cdk) fails the execution with no error name or cause."""
    step = run({"F": {"Type": "Fail"}}, {})
    assert (step.execution.status, step.execution.error, step.execution.cause) == ("FAILED", None, None)
    assert step.events[-1].details == {}


def test_an_endless_loop_without_waiting_is_stopped() -> None:
    """Pass states looping forever stop with States.Runtime instead of hanging the step."""
    step = run({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}, {})
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.Runtime")


def test_a_catcher_result_path_that_cannot_be_applied_fails_the_execution() -> None:
    """When the Catch ResultPath does not fit the raw input, the execution fails with ResultPathMatchFailure."""
    interpreter = machine({
        "T": {"Type": "Task", "Resource": "r", "End": True,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H", "ResultPath": "$.err"}]},
        "H": {"Type": "Succeed"},
    })
    step = interpreter.start("e", [1, 2], at(0))
    step = interpreter.task_failed(step.execution, step.dispatches[0].token, "E", "c", at(1))
    assert (step.execution.status, step.execution.error) == ("FAILED", "States.ResultPathMatchFailure")
