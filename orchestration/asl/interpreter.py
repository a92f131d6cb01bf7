"""The interpreter's public face: start an execution, feed it task replies and timer wake-ups, get Steps back."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ._fanout import absorb, child_index, machine_of, settle
from ._fanout import start as start_fanout
from ._flow import continue_with, wait_over
from ._run import Go, Reply, Run
from ._task import failed, heartbeat, schedule, succeeded, timed_out
from .errors import TIMEOUT
from .execution import Execution, PendingTask, Step, pending_tasks
from .history import Recorder
from .states import MapState, ParallelState, StateMachine, TaskState, WaitState


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
        run = self._resume(execution, now)
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

    def task_heartbeat(self, execution: Execution, token: str, now: datetime) -> Step:
        """The participant working on the task with `token` is alive: its HeartbeatSeconds start again.
        A heartbeat for a task that is not pending (or one whose deadline already passed) changes nothing."""
        return self._reply(execution, token, None, now, heartbeat)

    def wake(self, execution: Execution, now: datetime) -> Step:
        """Fire whatever timer is due at `now`: execution timeout, task timeout, retry backoff or Wait end."""
        _require_aware(now)
        if execution.status != "RUNNING":
            return _ignored(execution, f"execution is {execution.status}")
        run = self._resume(execution, now)
        if execution.deadline is not None and now >= execution.deadline:
            self._time_out(run)
            return run.step()
        state = self.machine.states[execution.state_name or self.machine.start_at]
        pending = execution.pending
        go: Go | None
        due = pending.due_at() if pending is not None else None
        if due is not None and now >= due:
            assert isinstance(state, TaskState)
            go = timed_out(run, state)
        elif execution.timer_at is not None and now >= execution.timer_at:
            if isinstance(state, WaitState):
                go = wait_over(run, state)
            elif isinstance(state, (ParallelState, MapState)):
                go = start_fanout(run, state)
            else:
                go = schedule(run, _task_state(state))
        elif execution.fanout is not None and isinstance(state, (ParallelState, MapState)) and _children_due(
            execution, now
        ):
            go = self._wake_children(run, state, now)
        else:
            return _ignored(execution, f"nothing is due at {now.isoformat()} (next: {_when(execution.wake_at)})")
        continue_with(run, go)
        return run.step()

    def _wake_children(self, run: Run, state: ParallelState | MapState, now: datetime) -> Go | None:
        """Fire the timers due in the branches or iterations, one child after another."""
        assert run.fanout is not None
        for index, child in enumerate(run.fanout.children):
            if run.fanout is None:
                break
            if child.status != "RUNNING" or child.wake_at is None or child.wake_at > now:
                continue
            step = self.wake_child(machine_of(state, index), run.fanout.children[index], now)
            if step.ignored is None:
                absorb(run, state, index, step)
                go = settle(run, state)
                if go is not None or run.fanout is None:
                    return go
        return None

    # --- the Children protocol: stepping a Parallel's branches and a Map's iterations -------------

    def start_child(self, machine: StateMachine, parent: Run, scope: str, input: Any) -> Step:
        # A branch or iteration is an inner scope: it starts with (so it reads) the outer variables, and what it
        # assigns stays in its own copy, dropped when it ends (Step Functions' variable scopes).
        values = dict(execution_id=parent.execution_id, status="RUNNING", state_name=None,
                      started_at=parent.started_at, execution_input=parent.execution_input, scope=scope,
                      variables=parent.variables)  # fmt: skip
        run = Run.resume(machine, self.rng, Execution(**values), parent.now, _Children(self.rng))
        continue_with(run, Go(machine.start_at, input))
        return run.step()

    def wake_child(self, machine: StateMachine, child: Execution, now: datetime) -> Step:
        return Interpreter(machine, self.rng).wake(child, now)

    def _resume(self, execution: Execution, now: datetime) -> Run:
        return Run.resume(self.machine, self.rng, execution, now, _Children(self.rng))

    def _child_reply(self, execution: Execution, token: str, attempt: int | None, now: datetime, handle: Reply) -> Step:
        fanout = execution.fanout
        index = child_index(fanout, token) if fanout is not None else None
        state = self.machine.states[execution.state_name or self.machine.start_at]
        if fanout is None or index is None or not isinstance(state, (ParallelState, MapState)):
            return _ignored(execution, f"token {token!r} is not pending (awaiting {_awaited(execution)})")
        if execution.deadline is not None and now >= execution.deadline:
            return self.wake(execution, now)
        child = Interpreter(machine_of(state, index), self.rng)
        step = child._reply(fanout.children[index], token, attempt, now, handle)
        if step.ignored is not None:
            return _ignored(execution, step.ignored)
        run = self._resume(execution, now)
        absorb(run, state, index, step)
        continue_with(run, settle(run, state))
        return run.step()

    def _reply(self, execution: Execution, token: str, attempt: int | None, now: datetime, handle: Reply) -> Step:
        _require_aware(now)
        if execution.status != "RUNNING":
            return _ignored(execution, f"execution is {execution.status}; reply for {token!r} dropped")
        pending = execution.pending
        if pending is None or pending.token != token:
            return self._child_reply(execution, token, attempt, now, handle)
        if attempt is not None and attempt != pending.attempt:
            reason = f"reply from attempt {attempt} of {token!r}, but attempt {pending.attempt} is pending"
            return _ignored(execution, reason)
        if deadline_passed(execution, now):
            return self.wake(execution, now)
        run = self._resume(execution, now)
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
    update = dict(status="FAILED", error=error, cause=cause, finished_at=now, pending=None, fanout=None, timer_at=None,
                  wake_at=None, wake_for=None, last_event_id=recorder.last_id)  # fmt: skip
    return Step(execution=execution.model_copy(update=update), events=recorder.events)


class _Children:
    """What a Run steps its Parallel branches and Map iterations with (each child runs on its own machine)."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def start(self, machine: StateMachine, parent: Run, scope: str, input: Any) -> Step:
        return Interpreter(machine, self.rng).start_child(machine, parent, scope, input)

    def reply(self, machine: StateMachine, child: Execution, token: str, attempt: int | None, now: datetime,
              handle: Reply) -> Step:  # fmt: skip
        return Interpreter(machine, self.rng)._reply(child, token, attempt, now, handle)

    def wake(self, machine: StateMachine, child: Execution, now: datetime) -> Step:
        return Interpreter(machine, self.rng).wake(child, now)


def _children_due(execution: Execution, now: datetime) -> bool:
    fanout = execution.fanout
    return fanout is not None and any(c.wake_at is not None and c.wake_at <= now for c in fanout.running())


def _awaited(execution: Execution) -> str:
    tokens = [repr(p.token) for p in pending_tasks(execution)]
    return ", ".join(tokens) if tokens else "no task"


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"`now` must be a timezone-aware datetime (UTC), got {now!r}")


def _task_state(state: object) -> TaskState:
    assert isinstance(state, TaskState), f"expected a Task state, got {state!r}"
    return state


def deadline_passed(execution: Execution, now: datetime, pending: PendingTask | None = None) -> bool:
    """Whether a reply arriving at `now` is too late: the pending task's (`pending`, by default the execution's
    own) or the execution's deadline came first, so the reply is handled as that timeout firing (and the reply
    itself is not used)."""
    if execution.deadline is not None and now >= execution.deadline:
        return True
    pending = pending or execution.pending
    due = pending.due_at() if pending is not None else None
    return due is not None and now >= due


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "nothing"


def _ignored(execution: Execution, reason: str) -> Step:
    return Step(execution=execution, dispatches=[], events=[], ignored=reason)
