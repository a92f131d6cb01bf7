"""Execution history events in the shape of Step Functions' GetExecutionHistory, and their numbering."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from ._fast import build

_SPECIAL_DETAILS_KEYS = {
    "ExecutionStarted": "executionStartedEventDetails",
    "ExecutionSucceeded": "executionSucceededEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "TaskScheduled": "taskScheduledEventDetails",
    "TaskStarted": "taskStartedEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "EvaluationFailed": "evaluationFailedEventDetails",
}


@functools.lru_cache(maxsize=256)  # a few dozen event types exist; every event of every step asks
def details_key(event_type: str) -> str:
    """The AWS key holding an event's details: `stateEnteredEventDetails` for every *StateEntered, and so on."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return _SPECIAL_DETAILS_KEYS.get(event_type, f"{event_type[:1].lower()}{event_type[1:]}EventDetails")


class HistoryEvent(BaseModel):
    """One history event; dumps (by alias, the default) as AWS does, e.g. {"id", "previousEventId",
    "timestamp", "type", "taskScheduledEventDetails": {...}}. Inputs and outputs are JSON values, not strings."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    id: int
    previous_event_id: int = Field(alias="previousEventId")
    timestamp: datetime
    type: str
    details: dict[str, Any] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _aws_details_key(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if info.by_alias is not False and "details" in data:  # None: the model's default, which is by alias
            data[details_key(self.type)] = data.pop("details")
        return data

    @model_validator(mode="before")
    @classmethod
    def _from_aws_details_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "details" not in data:
            keys = [key for key in data if isinstance(key, str) and key.endswith("EventDetails")]
            if len(keys) == 1:
                data = {**data, "details": data[keys[0]]}
                del data[keys[0]]
        return data


class Recorder:
    """Numbers the events of one step, continuing from the execution's last event id."""

    __slots__ = ("events", "last_id", "now")

    def __init__(self, last_id: int, now: datetime) -> None:
        self.events: list[HistoryEvent] = []
        self.last_id = last_id
        self.now = now

    def emit(self, event_type: str, details: dict[str, Any]) -> None:
        event_id = self.last_id + 1
        values = {
            "id": event_id, "previous_event_id": self.last_id, "timestamp": self.now, "type": event_type,
            "details": details,
        }
        self.events.append(build(HistoryEvent, values))
        self.last_id = event_id
