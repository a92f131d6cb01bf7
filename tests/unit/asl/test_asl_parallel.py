"""Parallel: branches as sub-executions, output in branch order, cancellation, Retry/Catch, events, persistence."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.asl import DefinitionError, load_definition

from .support import at, drive, machine, of_type, roundtrip, task


def branch(resource: str, **fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": task(resource, **fields)}}


def parallel(*branches: dict[str, Any], **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Parallel", "Branches": list(branches), **fields}
    if "Next" not in state:
        state["End"] = True
    return state


def test_every_branch_starts_at_once_with_the_same_input_and_the_output_is_in_branch_order() -> None:
    interpreter = machine({"P": parallel(branch("svc:a"), branch("svc:b"), Parameters={"id.$": "$.id"})})
    step = interpreter.start("e", {"id": 1}, at(0))
    assert [(d.resource, d.parameters) for d in step.dispatches] == [("svc:a", {"id": 1}), ("svc:b", {"id": 1})]
    assert len({d.token for d in step.dispatches}) == 2
    first, second = step.dispatches
    step = interpreter.task_succeeded(roundtrip(step.execution), second.token, "B", at(1))
    assert step.execution.status == "RUNNING"
    step = interpreter.task_succeeded(roundtrip(step.execution), first.token, "A", at(2))
    assert step.execution.status == "SUCCEEDED"
    assert step.execution.output == ["A", "B"]


def test_result_selector_and_result_path_apply_to_the_array_of_branch_outputs() -> None:
    state = parallel(branch("svc:a"), branch("svc:b"), ResultSelector={"first.$": "$[0]"}, ResultPath="$.out")
    run = drive(machine({"P": state}), {"k": 1}, lambda resource, parameters: resource)
    assert run.execution.output == {"k": 1, "out": {"first": "svc:a"}}


def test_history_frames_the_branch_events_with_parallel_events() -> None:
    run = drive(machine({"P": parallel(branch("svc:a"), {"StartAt": "X", "States": {"X": {"Type": "Pass",
                                                                                          "End": True}}})}),
                {}, lambda resource, parameters: 1)  # fmt: skip
    assert [e.type for e in run.events] == [
        "ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "TaskStateEntered", "TaskScheduled",
        "TaskStarted", "PassStateEntered", "PassStateExited", "TaskSucceeded", "TaskStateExited",
        "ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded",
    ]


def test_a_failing_branch_cancels_the_others_whose_late_replies_are_ignored() -> None:
    interpreter = machine({"P": parallel(branch("svc:a"), branch("svc:b"))})
    step = interpreter.start("e", {}, at(0))
    first, second = step.dispatches
    step = interpreter.task_failed(roundtrip(step.execution), second.token, "Boom", "b broke", at(1))
    assert step.execution.status == "FAILED" and step.execution.error == "Boom"
    assert [e.type for e in step.events] == ["TaskFailed", "ParallelStateFailed", "ExecutionFailed"]
    assert step.execution.fanout is None
    assert interpreter.task_succeeded(step.execution, first.token, "A", at(2)).ignored is not None


def test_the_parallel_catch_handles_a_branch_error_and_its_retry_reruns_every_branch() -> None:
    retry = [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "MaxAttempts": 1}]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Undo", "ResultPath": "$.error"}]
    interpreter = machine({"P": parallel(branch("svc:a"), branch("svc:b"), Retry=retry, Catch=catch),
                           "Undo": {"Type": "Pass", "End": True}})  # fmt: skip
    step = interpreter.start("e", {}, at(0))
    step = interpreter.task_failed(step.execution, step.dispatches[0].token, "Busy", "later", at(1))
    assert step.execution.wake_at == at(3) and step.execution.wake_for == "retry"
    step = interpreter.wake(roundtrip(step.execution), at(3))
    assert [d.resource for d in step.dispatches] == ["svc:a", "svc:b"]
    step = interpreter.task_failed(step.execution, step.dispatches[1].token, "Busy", "again", at(4))
    assert step.execution.status == "SUCCEEDED"
    assert step.execution.output == {"error": {"Error": "Busy", "Cause": "again"}}
    assert of_type(step.events, "ParallelStateExited")[0].details["name"] == "P"


def test_nested_parallel_inside_a_map_routes_replies_to_the_innermost_task() -> None:
    inner = {"StartAt": "P", "States": {"P": parallel(branch("svc:a"), branch("svc:b"))}}
    run = drive(machine({"M": {"Type": "Map", "ItemProcessor": inner, "End": True}}), [1, 2],
                lambda resource, parameters: f"{resource}:{parameters}")  # fmt: skip
    assert run.execution.output == [["svc:a:1", "svc:b:1"], ["svc:a:2", "svc:b:2"]]


def test_a_branch_reads_the_execution_context_of_its_parent() -> None:
    state = parallel(branch("svc:a", Parameters={"id.$": "$$.Execution.Id", "in.$": "$$.Execution.Input.k"}))
    run = drive(machine({"P": state}), {"k": 5}, lambda resource, parameters: parameters, execution_id="exec-9")
    assert run.execution.output == [{"id": "exec-9", "in": 5}]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Branches": []}, "State 'P': field 'Branches' is required and must be a non-empty array"),
        ({"Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}, "TimeoutSeconds": 1}]},
         "State 'P' Branches[0]: field 'TimeoutSeconds' is not a valid field of Branches[0]"),
        ({"Branches": [{"StartAt": "Y", "States": {"X": {"Type": "Pass", "End": True}}}]},
         "State 'P' Branches[0]: field 'StartAt' names unknown state 'Y'"),
    ],
)
def test_bad_branches_are_refused_naming_the_state_and_branch(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definition({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, **fields}}})
    assert any(problem.startswith(message) for problem in caught.value.problems), caught.value.problems


# --- history as Step Functions writes it (Task kinds) -------------------------------------------------------

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:charge"


def test_a_bare_lambda_arn_gets_lambda_function_events() -> None:
    run = drive(machine({"T": task(LAMBDA_ARN)}), {"a": 1}, lambda resource, parameters: {"ok": True})
    assert [e.type for e in run.events][1:-1] == [
        "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded",
        "TaskStateExited",
    ]
    scheduled = of_type(run.events, "LambdaFunctionScheduled")[0]
    assert scheduled.details["resource"] == LAMBDA_ARN and scheduled.details["input"] == {"a": 1}
    assert scheduled.model_dump(mode="json")["lambdaFunctionScheduledEventDetails"]["input"] == {"a": 1}


def test_a_failing_or_late_lambda_gets_lambda_function_failed_and_timed_out() -> None:
    interpreter = machine({"T": task(LAMBDA_ARN, TimeoutSeconds=3)})
    step = interpreter.start("e", {}, at(0))
    failed = interpreter.task_failed(step.execution, step.dispatches[0].token, "Error", "boom", at(1))
    assert [e.type for e in failed.events] == ["LambdaFunctionFailed", "ExecutionFailed"]
    timed_out = interpreter.wake(step.execution, at(3))
    assert [e.type for e in timed_out.events] == ["LambdaFunctionTimedOut", "ExecutionFailed"]


def test_a_service_integration_names_its_resource_type_and_action() -> None:
    state = task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": "f", "Payload.$": "$"})
    run = drive(machine({"T": state}), {}, lambda resource, parameters: 1)
    scheduled = of_type(run.events, "TaskScheduled")[0]
    assert (scheduled.details["resourceType"], scheduled.details["resource"]) == ("lambda", "invoke")
    assert of_type(run.events, "TaskSucceeded")[0].details["resourceType"] == "lambda"


def test_wait_for_task_token_is_submitted_then_waits_for_the_token_answer() -> None:
    state = task("arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                 Parameters={"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}})  # fmt: skip
    interpreter = machine({"T": state})
    step = interpreter.start("e", {}, at(0))
    assert [e.type for e in step.events][-3:] == ["TaskScheduled", "TaskStarted", "TaskSubmitted"]
    submitted = step.events[-1].details
    assert submitted["resource"] == "sendMessage.waitForTaskToken" and submitted["resourceType"] == "sqs"
    assert step.dispatches[0].parameters["MessageBody"]["token"] == step.dispatches[0].token
    done = interpreter.task_succeeded(step.execution, step.dispatches[0].token, {"approved": True}, at(9))
    assert done.execution.output == {"approved": True}


# --- HeartbeatSeconds ---------------------------------------------------------------------------------------


def test_no_heartbeat_within_heartbeat_seconds_fails_the_task_with_states_heartbeat_timeout() -> None:
    catch = [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Late"}]
    interpreter = machine({"T": task("svc:slow", TimeoutSeconds=60, HeartbeatSeconds=5, Catch=catch),
                           "Late": {"Type": "Succeed"}})  # fmt: skip
    step = interpreter.start("e", {}, at(0))
    assert step.execution.wake_at == at(5) and step.execution.wake_for == "heartbeat_timeout"
    assert of_type(step.events, "TaskScheduled")[0].details["heartbeatInSeconds"] == 5
    step = interpreter.wake(roundtrip(step.execution), at(5))
    timed_out = of_type(step.events, "TaskTimedOut")[0].details
    assert timed_out["error"] == "States.HeartbeatTimeout" and timed_out["next"] == "Late"


def test_a_heartbeat_restarts_heartbeat_seconds_and_records_nothing() -> None:
    interpreter = machine({"T": task("svc:slow", TimeoutSeconds=60, HeartbeatSeconds=5)})
    step = interpreter.start("e", {}, at(0))
    token = step.dispatches[0].token
    beat = interpreter.task_heartbeat(roundtrip(step.execution), token, at(4))
    assert beat.ignored is None and beat.events == [] and beat.execution.wake_at == at(9)
    assert interpreter.wake(beat.execution, at(5)).ignored is not None  # the old deadline is gone
    done = interpreter.task_succeeded(beat.execution, token, "ok", at(8))
    assert done.execution.status == "SUCCEEDED"
    assert interpreter.task_heartbeat(beat.execution, "other", at(6)).ignored is not None


def test_a_heartbeat_reaches_a_task_inside_a_map_iteration() -> None:
    processor = {"StartAt": "T", "States": {"T": task("svc:slow", HeartbeatSeconds=5)}}
    interpreter = machine({"M": {"Type": "Map", "ItemProcessor": processor, "End": True}})
    step = interpreter.start("e", [1], at(0))
    beat = interpreter.task_heartbeat(step.execution, step.dispatches[0].token, at(3))
    assert beat.execution.wake_at == at(8)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"HeartbeatSeconds": 10, "TimeoutSeconds": 10}, "field 'HeartbeatSeconds' must be smaller than TimeoutSeconds"),
        ({"HeartbeatSeconds": 0}, "field 'HeartbeatSeconds' must be a positive integer"),
        ({"HeartbeatSeconds": 3, "HeartbeatSecondsPath": "$.h"}, "field 'HeartbeatSecondsPath' cannot be used"),
    ],
)
def test_bad_heartbeat_fields_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definition({"StartAt": "T", "States": {"T": task("svc:x", **fields)}})
    assert any(message in problem for problem in caught.value.problems), caught.value.problems
