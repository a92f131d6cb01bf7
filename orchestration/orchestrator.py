"""The orchestrator: runs each order's execution of the checkout state machine over RabbitMQ.

Every step (a start, a reply, a timer) is one local transaction: in a Standard workflow the execution's
new state, its new history events and the commands it sends commit together, so a restarted
orchestrator carries on exactly where it stopped (see ``executions.py`` for Express, and ``express_acks.py``
for when an Express order is acked).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import sqlite3
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from orchestration.asl import Execution, Interpreter, PendingTask, Step, abandon, deadline_passed, pending_tasks
from orchestration.asl.errors import UNCATCHABLE
from orchestration.definitions import Definition, PinnedInterpreters, UnusableDefinition
from orchestration.executions import DurableExecutions, Executions
from orchestration.express_acks import ExpressAcks
from orchestration.processes import REPLY_KEY
from orchestration.resources import Call, ResourceMap, UnknownResource
from orchestration.retention import pruned_order
from orchestration.store import ExecutionConflict
from shared.domain.contracts import (
    Failure,
    InvokeTask,
    Message,
    Notification,
    PlaceOrder,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
)
from shared.runtime.host import ALREADY_DONE, ServiceHost
from shared.runtime.routes import ACK_AFTER_COMMIT, Acks, Tx
from shared.stores.orders import OrderStatus, record_placed, settle
from shared.stores.sqlite import Database, OutboxRow
from shared.transport.wire import Outgoing

log = structlog.get_logger()

REPLIES_APPLIED = "orchestrator.replies-applied"
"""The inbox consumer under which the orchestrator records the replies it applied (and only those)."""
DEFINITION_UNUSABLE = "Sagalab.DefinitionUnusable"
"""The error an execution is parked with when its pinned definition cannot be run."""
PARKED_ERRORS = frozenset({"CompensationFailed", DEFINITION_UNUSABLE, *UNCATCHABLE})
"""A failed execution that ended with one of these did not finish its compensations (or never ran them: a
States.Runtime data bug fails the execution wherever it is, perhaps after steps succeeded): a human must look."""
_TOKEN_NAMESPACE = uuid.UUID("6f1b1a52-7d0e-4a47-9d61-3c1f0f2b5a10")


_NAMESPACE_BYTES = _TOKEN_NAMESPACE.bytes


@functools.lru_cache(maxsize=4096)  # the tasks in flight; 65536 held ~25 MB of finished executions' tokens
def command_id(token: str) -> str:
    """A task's command id: the same for every attempt of one visit to a state, so a participant's
    inbox recognises a retry of work it already did and answers it again instead of redoing it.

    ``str(uuid.uuid5(_TOKEN_NAMESPACE, token))``, spelled out: the same text for a third of the cost, as the
    UUID object (its int arithmetic) is never needed."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + token.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def awaited_task(execution: Execution, causation_id: str | None) -> PendingTask | None:
    """The task (of the execution, or of one of its Parallel branches or Map iterations) a reply answers."""
    if execution.pending is not None and command_id(execution.pending.token) == causation_id:
        return execution.pending
    return next((p for p in pending_tasks(execution) if command_id(p.token) == causation_id), None)


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
    """How a finished execution reads as an order: compensations that failed, an execution that failed
    outside its Catch (States.Runtime) or could not go on (unusable definition), or timed out, need a human."""
    if execution.status == "SUCCEEDED":
        return "completed"
    if execution.status == "FAILED" and execution.error not in PARKED_ERRORS:
        return "compensated"
    if execution.status in ("FAILED", "TIMED_OUT"):
        return "needs-attention"
    return None


def order_detail(execution: Execution) -> str:
    """The order's detail: the error of a compensated order; for a parked one, what a human must look at."""
    if order_status(execution) != "needs-attention":
        return execution.error or ""
    if execution.error == "CompensationFailed" and execution.cause:
        return execution.cause  # the definition names the step: "ReleaseStock failed: <error>: <cause>"
    return f"{execution.error}: {execution.cause}" if execution.cause else execution.error or ""


class Orchestrator:
    """Runs executions of one state machine: starts them, feeds them replies and timers, records each step."""

    def __init__(
        self,
        definition: Definition,
        resources: ResourceMap,
        db: Database,
        executions: Executions | None = None,
        reply_key: str = REPLY_KEY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pinning: bool = True,
    ) -> None:
        self.definition = definition
        """The definition new executions start on (running ones keep the one they were pinned to)."""
        self.machine = definition.machine
        self.interpreters = PinnedInterpreters(definition, resources, pinning)
        self.resources = resources
        self.db = db
        self.executions = executions or DurableExecutions()
        self.reply_key = reply_key
        self.clock = clock
        self.host: ServiceHost | None = None
        """Set once the host exists: timers send through it."""
        self.express_acks: ExpressAcks | None = None
        """Express holds each order's delivery until its execution finished (``express_acks.py``)."""
        if self.express:  # a replica may finish an execution whose order another replica holds: ask the store
            self.express_acks = ExpressAcks(functools.partial(self.executions.is_running, db.conn))
        self._timers_changed = asyncio.Event()
        self._next_wake: float | None = None

    @property
    def express(self) -> bool:
        return self.executions.workflow == "express"

    @property
    def acks(self) -> Acks:
        """The ack policy of this orchestrator's routes."""
        return self.express_acks or ACK_AFTER_COMMIT

    # --- routes (run inside the host's local transaction) -------------------------------------

    def start(self, message: Message, tx: Tx) -> list[Outgoing]:
        """PlaceOrder starts an execution named after the order; starting it twice does nothing.

        Express acks the order only when its execution has finished (the route's ``acks``), so a crash
        redelivers it and the execution runs again from the start."""
        assert isinstance(message, PlaceOrder)
        order = message.order
        existing = self.executions.load(tx.conn, order.order_id)
        if existing is not None and not (self.executions.reruns_running and existing.status == "RUNNING"):
            tx.ignored(f"PlaceOrder {ALREADY_DONE} {order.order_id}: its execution exists (the order id is the key)")
            return []
        if not record_placed(tx.conn, order) and pruned_order(tx.conn, order.order_id):
            tx.ignored(f"PlaceOrder {ALREADY_DONE} {order.order_id}: its execution finished and was pruned")
            return []
        return self.begin(tx.conn, order.order_id, {"order": order.model_dump(mode="json")}, message.message_id)

    def begin(self, conn: sqlite3.Connection, execution_id: str, input: Any, cause_id: str | None) -> list[Outgoing]:
        """Start an execution with any input (``sagalab execute`` uses this directly), on the definition it
        is pinned to if it has one (an Express order redelivered after a crash), else on the current one."""
        now = self.clock()
        try:
            interpreter = self.interpreters.for_start(conn, execution_id)
        except UnusableDefinition as exc:
            unstarted = Execution(execution_id=execution_id, status="RUNNING", state_name=None, started_at=now)
            return self._park(conn, unstarted, str(exc))
        return self._apply(conn, interpreter, interpreter.start(execution_id, input, now), cause_id)

    def on_reply(self, message: Message, tx: Tx) -> list[Outgoing]:
        """Feed a participant's reply to its execution, if it answers the task being awaited.

        A reply applies at most once: after it the execution awaits another task (or another attempt).
        Replies are deduplicated here, by the ids of replies *applied*, not by the host's inbox: a reply
        ignored as late must not be remembered, because a participant answers the retry of the same command
        with that same stored reply, which is then the answer the retry waits for."""
        execution = self.executions.load(tx.conn, message.correlation_id)
        pending = awaited_task(execution, message.causation_id) if execution else None
        if isinstance(message, TaskHeartbeat) and execution is not None and pending is not None:
            token, now = pending.token, self.clock()
            return self._advance(tx.conn, execution, lambda it: it.task_heartbeat(execution, token, now), None)
        if execution is None or pending is None:
            log.info("ignoring a reply no task is waiting for (late, duplicate or unknown)")
            tx.ignored("a reply no task is waiting for (late, duplicate or unknown)")
            return []
        now = self.clock()
        applies = not deadline_passed(execution, now, pending)  # else the step is the timeout, and this reply is unused
        if applies and not self.express and Database.remember(tx.conn, REPLIES_APPLIED, message.message_id) != "new":
            log.info("ignoring a reply already applied (a redelivered copy)")
            return []
        succeeded, output, error, cause = outcome_of(message)

        def feed(interpreter: Interpreter) -> Step:
            if succeeded:
                call = self.resources.resolve(pending.resource, pending.parameters)
                return interpreter.task_succeeded(execution, pending.token, call.output(output), now)
            return interpreter.task_failed(execution, pending.token, error, cause, now)

        return self._advance(tx.conn, execution, feed, message.message_id)

    # --- timers -------------------------------------------------------------------------------

    async def run_timers(self, stopping: asyncio.Event) -> None:
        """Wake executions whose retry wait, Wait state, task timeout or deadline has come."""
        assert self.host is not None
        while not stopping.is_set():
            now = self.clock()
            for execution_id in self.executions.due(self.db.conn, now):
                await self._wake(execution_id, now)
            if self.express_acks is not None:
                await self.express_acks.recheck()  # orders whose execution another replica finished
            self._next_wake = self.executions.next_wake(self.db.conn)
            delay = 0.25 if self._next_wake is None else self._next_wake - self.clock().timestamp()
            self._timers_changed.clear()
            try:
                await asyncio.wait_for(self._timers_changed.wait(), timeout=min(max(delay, 0.002), 0.25))
            except TimeoutError:
                pass

    async def _wake(self, execution_id: str, now: datetime) -> None:
        assert self.host is not None
        try:
            with self.db.transaction() as conn:
                execution = self.executions.load(conn, execution_id)
                if execution is None or execution.wake_at is None or execution.wake_at > now:
                    return
                outgoing = self._advance(conn, execution, lambda interpreter: interpreter.wake(execution, now), None)
                seqs = [] if self.express else Database.stage(conn, None, outgoing)
        except ExecutionConflict:
            return  # another replica stepped it meanwhile (woke it, or fed it a reply): its step stands
        if self.express:
            await self.host.publish_now(outgoing)
        else:
            await self.host.send([OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)])
        if self.express_acks is not None:
            await self.express_acks.release()  # the step committed: orders it finished may be acked

    # --- applying a step ----------------------------------------------------------------------

    def _advance(
        self, conn: sqlite3.Connection, execution: Execution, step_of: Callable[[Interpreter], Step], cause_id: str | None
    ) -> list[Outgoing]:
        """Take one step of a running execution on its pinned definition; park it if that cannot be used."""
        try:
            interpreter = self.interpreters.for_execution(conn, execution.execution_id)
        except UnusableDefinition as exc:
            return self._park(conn, execution, str(exc))
        return self._apply(conn, interpreter, step_of(interpreter), cause_id)

    def _apply(
        self, conn: sqlite3.Connection, interpreter: Interpreter, step: Step, cause_id: str | None
    ) -> list[Outgoing]:
        """Record the step and turn its dispatches into messages; tasks that finish at once
        (``sns:publish``, a resource that cannot be resolved) are fed back immediately."""
        outgoing: list[Outgoing] = []
        immediate: deque[tuple[str, bool, Any]] = deque()  # (token, succeeded, output or cause)
        execution = step.execution
        while True:
            if step.ignored is None:
                execution = step.execution
                self.executions.record(conn, step)
                self._note_wake(execution)
                for dispatch in step.dispatches:
                    try:
                        call = self.resources.resolve(dispatch.resource, dispatch.parameters)
                        message = self._message(call, execution.execution_id, dispatch.token, cause_id)
                    except (UnknownResource, ValueError) as exc:
                        immediate.append((dispatch.token, False, f"cannot dispatch: {exc}"))
                        continue
                    headers = {"x-state": dispatch.state_name, "x-attempt": dispatch.attempt}
                    if call.kind == "notify":
                        outgoing.append(Outgoing.event(message, **headers))
                        immediate.append((dispatch.token, True, {"MessageId": message.message_id}))
                    else:
                        outgoing.append(Outgoing.command(message, call.participant, self.reply_key, **headers))
                if execution.status != "RUNNING":
                    self._finished(conn, execution)
            if not immediate:
                return outgoing
            # Tasks that finished at once are fed back one by one, each to the execution as it now stands
            # (several may finish at once: the branches of a Parallel, the items of a Map).
            token, succeeded, result = immediate.popleft()
            now = self.clock()
            if succeeded:
                step = interpreter.task_succeeded(execution, token, result, now)
            else:
                step = interpreter.task_failed(execution, token, "States.TaskFailed", result, now)

    def _park(self, conn: sqlite3.Connection, execution: Execution, reason: str) -> list[Outgoing]:
        """The execution cannot go on (its pinned definition is unusable): end it as failed, and park its
        order as needing attention with the reason, rather than fail on every reply or timer."""
        log.error("parking an execution whose definition cannot be used", reason=reason)
        step = abandon(execution, DEFINITION_UNUSABLE, reason, self.clock())
        self.executions.record(conn, step)
        self._finished(conn, step.execution)
        return []

    def _finished(self, conn: sqlite3.Connection, execution: Execution) -> None:
        self.interpreters.forget(execution.execution_id)
        status = order_status(execution)
        if status is not None:
            settle(conn, execution.execution_id, status, detail=order_detail(execution))
        if self.express_acks is not None:
            # Acked once this transaction has committed, in the flow of whoever committed it.
            self.express_acks.finished(execution.execution_id)

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
