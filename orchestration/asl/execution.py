"""The values the interpreter hands back and forth: Execution (persisted), PendingTask, TaskDispatch and Step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .history import HistoryEvent

Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT"]
WakeReason = Literal["execution_timeout", "task_timeout", "heartbeat_timeout", "retry", "wait"]


class PendingTask(BaseModel):
    """The task attempt the execution is waiting for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str
    state_name: str
    resource: str
    parameters: Any
    attempt: int
    scheduled_at: datetime
    timeout_at: datetime | None
    heartbeat_seconds: int | None = None
    heartbeat_at: datetime | None = None
    """When the task times out with States.HeartbeatTimeout unless a heartbeat (or its answer) comes first."""

    def due_at(self) -> datetime | None:
        """The first of its deadlines (TimeoutSeconds, HeartbeatSeconds)."""
        deadlines = [at for at in (self.timeout_at, self.heartbeat_at) if at is not None]
        return min(deadlines, default=None)


class TaskDispatch(BaseModel):
    """A task the runtime must send now; its reply comes back through task_succeeded/task_failed with `token`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str
    state_name: str
    resource: str
    parameters: Any
    attempt: int
    timeout_at: datetime | None


class Execution(BaseModel):
    """Everything needed to continue an execution: round-trips through model_dump(mode="json")/model_validate.

    History is not kept here; documents inside are shared with other values and must not be mutated.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    execution_id: str
    status: Status
    state_name: str | None
    pending: PendingTask | None = None
    wake_at: datetime | None = None
    wake_for: WakeReason | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    deadline: datetime | None = None
    """When the whole execution times out (top-level TimeoutSeconds)."""
    timer_at: datetime | None = None
    """When the current Wait state ends or the current Task's retry backoff is over."""
    state_input: Any = None
    """The current state's raw input (ResultPath merges into it; a retry starts from it again)."""
    state_entered_at: datetime | None = None
    attempt: int = 0
    """The current task attempt of this visit: 0 first, 1 first retry ..."""
    retry_delay_seconds: float | None = None
    """The backoff that preceded the current/next attempt."""
    retry_counts: tuple[int, ...] = ()
    """Retries used per Retrier index of the current state; reset when the state is left."""
    visits: dict[str, int] = {}
    """How many times each state has been entered."""
    last_event_id: int = 0
    execution_input: Any = None
    """Kept only when the definition reads `$$.Execution.Input`."""
    scope: str = ""
    """Empty for an execution; for a Parallel branch or Map iteration, what makes its task tokens unique."""
    fanout: Fanout | None = None
    """The branches or iterations of the Parallel or Map state being run (None in any other state)."""
    variables: dict[str, Any] = {}
    """The workflow variables assigned so far (Assign), persisted with the execution."""

    @property
    def finished(self) -> bool:
        return self.status != "RUNNING"


class Fanout(BaseModel):
    """The sub-executions of the current Parallel (one per branch) or Map (one per item) state.

    Each child is an Execution of the branch's or item processor's states, stepped by the interpreter inside
    its parent's steps and persisted inside the parent; a finished child keeps only its status and result.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["Parallel", "Map"]
    inputs: tuple[Any, ...]
    """Each branch's or iteration's input."""
    children: tuple[Execution, ...] = ()
    """The children started so far, in branch / item order (a Map starts them as MaxConcurrency allows)."""
    max_concurrency: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None

    def running(self) -> list[Execution]:
        return [child for child in self.children if child.status == "RUNNING"]


def pending_tasks(execution: Execution) -> list[PendingTask]:
    """Every task attempt an execution awaits, including those of its Parallel branches and Map iterations."""
    found = [execution.pending] if execution.pending is not None else []
    if execution.fanout is not None:
        for child in execution.fanout.children:
            if child.status == "RUNNING":
                found.extend(pending_tasks(child))
    return found


def awaits(execution: Execution, token: str) -> bool:
    """Whether the task with `token` is awaited by this execution or one of its running sub-executions."""
    return any(pending.token == token for pending in pending_tasks(execution))


@dataclass(frozen=True)
class Step:
    """What one call changed: the new Execution, the tasks to send and the new history events."""

    execution: Execution
    dispatches: list[TaskDispatch] = field(default_factory=list)
    events: list[HistoryEvent] = field(default_factory=list)
    ignored: str | None = None
    """Why a reply or wake-up changed nothing (stale token, finished execution, nothing due ...)."""


Execution.model_rebuild()
