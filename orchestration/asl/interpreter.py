"""The interpreter's public face: start an execution, feed it task replies and timer wake-ups, get Steps back."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ._flow import continue_with, wait_over
from ._run import Go, Run
from ._task import failed, schedule, succeeded, timed_out
from .errors import TIMEOUT
from .execution import Execution, Step
from .history import Recorder
from .states import StateMachine, TaskState, WaitState

_Reply = Callable[[Run, TaskState], "Go | None"]


class Interpreter:
    """Runs executions of one StateMachine; pure: no I/O, no clock (time comes in as `now`), no global randomness.

    Every method returns a Step and never mutates the Execution it is given. A reply that arrives at or after
    a due deadline (the task's or the execution's) is handled as that deadline firing first.
    """

    def __init__(self, machine: StateMachine, rng: random.Random | None = None) -> None:
        self.machine = machine
        self.rng = rng if rng is not None else random.Random()

    def start(self, execution_id: str, input: Any, now: datetime) -> Step:
        """Begin an execution at StartAt with `input`."""
        _require_aware(now)
        deadline = now + timedelta(seconds=self.machine.timeout_seconds) if self.machine.timeout_seconds else None
        execution = Execution(
            execution_id=execution_id,
            status="RUNNING",
            state_name=None,
            started_at=now,
            deadline=deadline,
            execution_input=input if self.machine.uses_execution_input else None,
        )
        run = Run.resume(self.machine, self.rng, execution, now)
        run.emit("ExecutionStarted", {"input": input, "timeoutInSeconds": self.machine.timeout_seconds})
        continue_with(run, Go(self.machine.start_at, input))
        return run.step()

    def task_succeeded(
        self, execution: Execution, token: str, output: Any, now: datetime, attempt: int | None = None
    ) -> Step:
        """The task dispatched with `token` returned `output`.

        Retries of one visit share the token; pass the dispatch's `attempt` to also drop a late reply from an
        earlier attempt (e.g. one that timed out and was retried).
        """
        return self._reply(execution, token, attempt, now, lambda run, state: succeeded(run, state, output))

    def task_failed(
        self, execution: Execution, token: str, error: str, cause: str, now: datetime, attempt: int | None = None
    ) -> Step:
        """The task dispatched with `token` failed with an error name and cause (`attempt` as in task_succeeded)."""
        return self._reply(execution, token, attempt, now, lambda run, state: failed(run, state, error, cause))

    def wake(self, execution: Execution, now: datetime) -> Step:
        """Fire whatever timer is due at `now`: execution timeout, task timeout, retry backoff or Wait end."""
        _require_aware(now)
        if execution.status != "RUNNING":
            return _ignored(execution, f"execution is {execution.status}")
        run = Run.resume(self.machine, self.rng, execution, now)
        if execution.deadline is not None and now >= execution.deadline:
            self._time_out(run)
            return run.step()
        state = self.machine.states[execution.state_name or self.machine.start_at]
        pending = execution.pending
        go: Go | None
        if pending is not None and pending.timeout_at is not None and now >= pending.timeout_at:
            assert isinstance(state, TaskState)
            go = timed_out(run, state)
        elif execution.timer_at is not None and now >= execution.timer_at:
            if isinstance(state, WaitState):
                go = wait_over(run, state)
            else:
                go = schedule(run, _task_state(state))
        else:
            return _ignored(execution, f"nothing is due at {now.isoformat()} (next: {_when(execution.wake_at)})")
        continue_with(run, go)
        return run.step()

    def _reply(self, execution: Execution, token: str, attempt: int | None, now: datetime, handle: _Reply) -> Step:
        _require_aware(now)
        if execution.status != "RUNNING":
            return _ignored(execution, f"execution is {execution.status}; reply for {token!r} dropped")
        pending = execution.pending
        if pending is None or pending.token != token:
            awaited = repr(pending.token) if pending is not None else "no task"
            return _ignored(execution, f"token {token!r} is not pending (awaiting {awaited})")
        if attempt is not None and attempt != pending.attempt:
            reason = f"reply from attempt {attempt} of {token!r}, but attempt {pending.attempt} is pending"
            return _ignored(execution, reason)
        if deadline_passed(execution, now):
            return self.wake(execution, now)
        run = Run.resume(self.machine, self.rng, execution, now)
        continue_with(run, handle(run, _task_state(self.machine.states[pending.state_name])))
        return run.step()

    def _time_out(self, run: Run) -> None:
        cause = f"Execution did not finish within {self.machine.timeout_seconds} seconds"
        run.emit("ExecutionTimedOut", {"error": TIMEOUT, "cause": cause})
        run.finish("TIMED_OUT", error=TIMEOUT, cause=cause)


def abandon(execution: Execution, error: str, cause: str, now: datetime) -> Step:
    """End a running execution as FAILED from outside its definition (the runtime can no longer run it,
    e.g. its definition is unusable); needs no StateMachine."""
    _require_aware(now)
    if execution.status != "RUNNING":
        return _ignored(execution, f"execution is {execution.status}")
    recorder = Recorder(execution.last_event_id, now)
    recorder.emit("ExecutionFailed", {"error": error, "cause": cause})
    update = dict(status="FAILED", error=error, cause=cause, finished_at=now, pending=None, timer_at=None,
                  wake_at=None, wake_for=None, last_event_id=recorder.last_id)  # fmt: skip
    return Step(execution=execution.model_copy(update=update), events=recorder.events)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"`now` must be a timezone-aware datetime (UTC), got {now!r}")


def _task_state(state: object) -> TaskState:
    assert isinstance(state, TaskState), f"expected a Task state, got {state!r}"
    return state


def deadline_passed(execution: Execution, now: datetime) -> bool:
    """Whether a reply arriving at `now` is too late: the pending task's or the execution's deadline came
    first, so the reply is handled as that timeout firing (and the reply itself is not used)."""
    if execution.deadline is not None and now >= execution.deadline:
        return True
    timeout_at = execution.pending.timeout_at if execution.pending is not None else None
    return timeout_at is not None and now >= timeout_at


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "nothing"


def _ignored(execution: Execution, reason: str) -> Step:
    return Step(execution=execution, dispatches=[], events=[], ignored=reason)
