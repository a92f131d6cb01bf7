"""The orchestrator with Parallel and Map: replies routed to branch tasks, several tasks that finish at once fed
back in turn, a participant's TaskHeartbeat restarting HeartbeatSeconds; persisted in its database (Standard)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestration.asl import DefinitionError
from orchestration.definitions import Definition
from orchestration.orchestrator import Orchestrator
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA, history, load
from shared.domain.contracts import InvokeTask, TaskHeartbeat, TaskSucceeded
from shared.runtime.routes import Tx
from shared.stores.sqlite import Database
from shared.transport.wire import Outgoing

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SNS = "arn:aws:states:::sns:publish"


def _work(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "work", "End": True, **fields}


class _Orchestrator:
    def __init__(self, tmp_path: Path, definition: dict[str, Any]) -> None:
        self.now = T0
        self.db = Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA)
        resources = ResourceMap({"work": "worker"})
        compiled = Definition.compile("test.asl.json", json.dumps(definition), resources)
        self.orchestrator = Orchestrator(compiled, resources, self.db, clock=lambda: self.now)

    def begin(self, input: Any) -> list[Outgoing]:
        with self.db.transaction() as conn:
            return self.orchestrator.begin(conn, "e-1", input, None)

    def deliver(self, reply: Any, at: float) -> list[Outgoing]:
        self.now = T0 + timedelta(seconds=at)
        with self.db.transaction() as conn:
            return self.orchestrator.on_reply(reply, Tx(conn, None, None, {}))

    def wake(self, at: float) -> None:
        self.now = T0 + timedelta(seconds=at)
        with self.db.transaction() as conn:
            execution = self.orchestrator.executions.load(conn, "e-1")
            assert execution is not None
            self.orchestrator._advance(conn, execution, lambda it: it.wake(execution, self.now), None)

    def execution(self) -> Any:
        return load(self.db.conn, "e-1")


def _answer(command: Outgoing, output: Any) -> TaskSucceeded:
    return TaskSucceeded(correlation_id="e-1", causation_id=command.message_id, output=output)


def test_branch_tasks_are_sent_at_once_and_their_replies_complete_the_parallel(tmp_path: Path) -> None:
    branches = [{"StartAt": name, "States": {name: _work(Parameters={"b": name})}} for name in ("A", "B")]
    saga = _Orchestrator(tmp_path, {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches,
                                                                       "End": True}}})  # fmt: skip
    first, second = saga.begin({})
    assert [json.loads(m.body)["input"] for m in (first, second)] == [{"b": "A"}, {"b": "B"}]
    assert first.type == second.type == InvokeTask.__name__ and first.message_id != second.message_id
    saga.deliver(_answer(second, "b"), 1)
    assert saga.execution().status == "RUNNING"
    saga.deliver(_answer(first, "a"), 2)
    assert saga.execution().status == "SUCCEEDED" and saga.execution().output == ["a", "b"]


def test_several_tasks_that_finish_at_once_are_fed_back_one_after_another(tmp_path: Path) -> None:
    """Three sns:publish iterations of a Map succeed at once; each is applied to the execution as it stands."""
    processor = {"StartAt": "N", "States": {"N": {"Type": "Task", "Resource": SNS, "End": True,
                                                  "Parameters": {"TopicArn": "t", "Message.$": "$"}}}}  # fmt: skip
    saga = _Orchestrator(tmp_path, {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor,
                                                                       "End": True}}})  # fmt: skip
    sent = saga.begin(["x", "y", "z"])
    assert len(sent) == 3
    execution = saga.execution()
    assert execution.status == "SUCCEEDED" and len(execution.output) == 3
    types = [e["type"] for e in history(saga.db.conn, "e-1")]
    assert types.count("MapIterationSucceeded") == 3 and types[-1] == "ExecutionSucceeded"


def test_a_task_heartbeat_restarts_heartbeat_seconds_inside_a_map_iteration(tmp_path: Path) -> None:
    processor = {"StartAt": "W", "States": {"W": _work(HeartbeatSeconds=5)}}
    saga = _Orchestrator(tmp_path, {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor,
                                                                       "End": True}}})  # fmt: skip
    (command,) = saga.begin([1])
    saga.deliver(TaskHeartbeat(correlation_id="e-1", causation_id=command.message_id), 4)
    assert saga.execution().wake_at == T0 + timedelta(seconds=9)
    saga.wake(6)  # the first deadline (5 s) is gone
    assert saga.execution().status == "RUNNING"
    saga.wake(9)
    assert (saga.execution().status, saga.execution().error) == ("FAILED", "States.HeartbeatTimeout")


def test_lambda_invoke_wait_for_task_token_goes_to_the_function_and_its_answer_is_not_wrapped() -> None:
    resources = ResourceMap({"approve": "humans"})
    call = resources.resolve("arn:aws:states:::lambda:invoke.waitForTaskToken",
                             {"FunctionName": "approve", "Payload": {"token": "t"}})  # fmt: skip
    assert (call.participant, call.function, call.input) == ("humans", "approve", {"token": "t"})
    assert call.output({"approved": True}) == {"approved": True}
    assert resources.resolve("arn:aws:states:::lambda:invoke", {"FunctionName": "approve"}).output(1)["Payload"] == 1


def test_nested_task_resources_are_checked_at_load() -> None:
    """A Task inside a Parallel branch or a Map processor must be bound too."""
    branch = {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "unbound", "End": True}}}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch], "End": True}}}
    with pytest.raises(DefinitionError, match="State 'X': field 'Resource': 'unbound' is not in the resource map"):
        Definition.compile("d.asl.json", json.dumps(definition), ResourceMap())
