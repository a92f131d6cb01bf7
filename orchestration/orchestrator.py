"""The orchestrator: runs each order's execution of the checkout state machine over RabbitMQ.

Every step (a start, a reply, a timer) is one local transaction: in a Standard workflow the execution's
new state, its new history events and the commands it sends commit together, so a restarted
orchestrator carries on exactly where it stopped (see ``executions.py`` for Express).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from orchestration.asl import Execution, Interpreter, StateMachine, Step
from orchestration.executions import DurableExecutions, Executions
from orchestration.resources import Call, ResourceMap, UnknownResource
from shared.contracts import (
    Failure,
    InvokeTask,
    Message,
    Notification,
    PlaceOrder,
    TaskFailed,
    TaskSucceeded,
)
from shared.runtime.host import ServiceHost, Tx
from shared.stores.orders import OrderStatus, record_placed, settle
from shared.stores.sqlite import Database, OutboxRow
from shared.wire import Outgoing

log = structlog.get_logger()

REPLY_KEY = "orchestrator"
_TOKEN_NAMESPACE = uuid.UUID("6f1b1a52-7d0e-4a47-9d61-3c1f0f2b5a10")


@functools.lru_cache(maxsize=65536)
def command_id(token: str) -> str:
    """A task's command id: the same for every attempt of one visit to a state, so a participant's
    inbox recognises a retry of work it already did and answers it again instead of redoing it."""
    return str(uuid.uuid5(_TOKEN_NAMESPACE, token))


def outcome_of(reply: Message) -> tuple[bool, Any, str, str]:
    """(succeeded, output, error, cause) of a participant's reply."""
    if isinstance(reply, TaskFailed):
        return False, None, reply.error, reply.cause
    if isinstance(reply, Failure):
        return False, None, type(reply).__name__, reply.reason
    if isinstance(reply, TaskSucceeded):
        return True, reply.output, "", ""
    return True, reply.business_fields(), "", ""


def order_status(execution: Execution) -> OrderStatus | None:
    """How a finished execution reads as an order: compensations that failed need a human."""
    if execution.status == "SUCCEEDED":
        return "completed"
    if execution.status == "FAILED" and execution.error != "CompensationFailed":
        return "compensated"
    if execution.status in ("FAILED", "TIMED_OUT"):
        return "needs-attention"
    return None


class Orchestrator:
    """Runs executions of one state machine: starts them, feeds them replies and timers, records each step."""

    def __init__(
        self,
        machine: StateMachine,
        resources: ResourceMap,
        db: Database,
        executions: Executions | None = None,
        reply_key: str = REPLY_KEY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        interpreter: Interpreter | None = None,
    ) -> None:
        self.machine = machine
        self.interpreter = interpreter or Interpreter(machine)
        self.resources = resources
        self.db = db
        self.executions = executions or DurableExecutions()
        self.reply_key = reply_key
        self.clock = clock
        self.host: ServiceHost | None = None
        """Set once the host exists: timers send through it, and Express acks finished orders with it."""
        self._timers_changed = asyncio.Event()
        self._next_wake: float | None = None

    @property
    def express(self) -> bool:
        return self.executions.workflow == "express"

    # --- routes (run inside the host's local transaction) -------------------------------------

    def start(self, message: Message, tx: Tx) -> list[Outgoing]:
        """PlaceOrder starts an execution named after the order; starting it twice does nothing.

        Express acks the order only when its execution has finished, so a crash redelivers it and the
        execution runs again from the start."""
        assert isinstance(message, PlaceOrder)
        order = message.order
        existing = self.executions.load(tx.conn, order.order_id)
        if existing is not None:
            if existing.status == "RUNNING" and self.express:
                tx.defer_ack(order.order_id)
            return []
        record_placed(tx.conn, order)
        if self.express:
            tx.defer_ack(order.order_id)
        return self.begin(tx.conn, order.order_id, {"order": order.model_dump(mode="json")}, message.message_id)

    def begin(self, conn: sqlite3.Connection, execution_id: str, input: Any, cause_id: str | None) -> list[Outgoing]:
        """Start an execution with any input (``sagalab execute`` uses this directly)."""
        return self._apply(conn, self.interpreter.start(execution_id, input, self.clock()), cause_id)

    def on_reply(self, message: Message, tx: Tx) -> list[Outgoing]:
        """Feed a participant's reply to its execution, if it answers the task being awaited."""
        execution = self.executions.load(tx.conn, message.correlation_id)
        pending = execution.pending if execution else None
        if execution is None or pending is None or command_id(pending.token) != message.causation_id:
            log.info("ignoring a reply no task is waiting for (late, duplicate or unknown)")
            tx.ignored("a reply no task is waiting for (late, duplicate or unknown)")
            return []
        succeeded, output, error, cause = outcome_of(message)
        now = self.clock()
        if succeeded:
            call = self.resources.resolve(pending.resource, pending.parameters)
            step = self.interpreter.task_succeeded(execution, pending.token, call.output(output), now)
        else:
            step = self.interpreter.task_failed(execution, pending.token, error, cause, now)
        return self._apply(tx.conn, step, message.message_id)

    # --- timers -------------------------------------------------------------------------------

    async def run_timers(self, stopping: asyncio.Event) -> None:
        """Wake executions whose retry wait, Wait state, task timeout or deadline has come."""
        assert self.host is not None
        while not stopping.is_set():
            now = self.clock()
            for execution_id in self.executions.due(self.db.conn, now):
                await self._wake(execution_id, now)
            self._next_wake = self.executions.next_wake(self.db.conn)
            delay = 0.25 if self._next_wake is None else self._next_wake - self.clock().timestamp()
            self._timers_changed.clear()
            try:
                await asyncio.wait_for(self._timers_changed.wait(), timeout=min(max(delay, 0.002), 0.25))
            except TimeoutError:
                pass

    async def _wake(self, execution_id: str, now: datetime) -> None:
        assert self.host is not None
        with self.db.transaction() as conn:
            execution = self.executions.load(conn, execution_id)
            if execution is None or execution.wake_at is None or execution.wake_at > now:
                return
            outgoing = self._apply(conn, self.interpreter.wake(execution, now), None)
            seqs = [] if self.express else Database.stage(conn, None, outgoing)
        if self.express:
            await self.host.publish_now(outgoing)
        else:
            await self.host.send([OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)])

    # --- applying a step ----------------------------------------------------------------------

    def _apply(self, conn: sqlite3.Connection, step: Step, cause_id: str | None) -> list[Outgoing]:
        """Record the step and turn its dispatches into messages; tasks that finish at once
        (``sns:publish``, a resource that cannot be resolved) are fed back immediately."""
        outgoing: list[Outgoing] = []
        while step.ignored is None:
            execution = step.execution
            self.executions.record(conn, step)
            self._note_wake(execution)
            follow_up: Step | None = None
            for dispatch in step.dispatches:
                now = self.clock()
                try:
                    call = self.resources.resolve(dispatch.resource, dispatch.parameters)
                    message = self._message(call, execution.execution_id, dispatch.token, cause_id)
                except (UnknownResource, ValueError) as exc:
                    follow_up = self.interpreter.task_failed(
                        execution, dispatch.token, "States.TaskFailed", f"cannot dispatch: {exc}", now
                    )
                    continue
                headers = {"x-state": dispatch.state_name, "x-attempt": dispatch.attempt}
                if call.kind == "notify":
                    outgoing.append(Outgoing.event(message, **headers))
                    follow_up = self.interpreter.task_succeeded(
                        execution, dispatch.token, {"MessageId": message.message_id}, now
                    )
                else:
                    outgoing.append(Outgoing.command(message, call.participant, self.reply_key, **headers))
            if execution.status != "RUNNING":
                self._finished(conn, execution)
            if follow_up is None:
                break
            step = follow_up
        return outgoing

    def _finished(self, conn: sqlite3.Connection, execution: Execution) -> None:
        status = order_status(execution)
        if status is not None:
            settle(conn, execution.execution_id, status, detail=execution.error or "")
        if self.express and self.host is not None:
            # Runs once the current delivery has committed: the order is acked only after its log is written.
            asyncio.get_running_loop().create_task(self.host.ack_deferred(execution.execution_id))

    def _message(self, call: Call, execution_id: str, token: str, cause_id: str | None) -> Message:
        envelope: dict[str, Any] = dict(message_id=command_id(token), correlation_id=execution_id, causation_id=cause_id)
        if call.kind == "notify":
            params = call.input if isinstance(call.input, dict) else {}
            return Notification(**envelope, topic=str(params.get("TopicArn", "")), message=params.get("Message"))
        if call.kind == "invoke":
            return InvokeTask(**envelope, function=call.function or "", input=call.input)
        assert call.command is not None
        if not isinstance(call.input, dict):
            raise ValueError(f"{call.command.__name__} needs an object as task input, got {call.input!r}")
        return call.command(**envelope, **call.input)

    def _note_wake(self, execution: Execution) -> None:
        if execution.status != "RUNNING" or execution.wake_at is None:
            return
        at = execution.wake_at.timestamp()
        if self._next_wake is None or at < self._next_wake:
            self._next_wake = at
            self._timers_changed.set()
