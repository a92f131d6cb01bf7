"""``sagalab execute``: run one execution of any definition against participants already serving."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration import store
from orchestration.asl import Execution
from orchestration.bootstrap import load_current, orchestrator_subscriptions
from orchestration.executions import executions_for
from orchestration.orchestrator import Orchestrator
from orchestration.processes import NOTIFICATIONS, Workflow
from orchestration.resources import ResourceMap
from orchestration.store import ORCHESTRATOR_SCHEMA
from shared.config import sagalab_home
from shared.runtime.host import ServiceHost
from shared.stores.sqlite import Database, OutboxRow
from shared.transport.broker import Broker
from shared.transport.topology import Binding, QueueSpec, Topology


@dataclass(frozen=True)
class Outcome:
    execution: Execution | None
    history: list[dict[str, Any]]
    db_path: Path


async def execute(
    definition: Path,
    input: Any,
    resources: ResourceMap,
    amqp_url: str,
    namespace: str = "sagalab",
    workflow: Workflow = "standard",
    execution_id: str | None = None,
    timeout_s: float | None = None,
    data_dir: Path | None = None,
) -> Outcome:
    """Start the execution, drive it with an in-process orchestrator on a private reply queue, and wait
    until it finishes (or the timeout passes, when the execution is returned still RUNNING)."""
    loaded = load_current(definition, resources)
    execution_id = execution_id or f"exec-{secrets.token_hex(6)}"
    reply_key = f"execute.{execution_id}"
    replies = QueueSpec("execute", (Binding("replies", reply_key),), suffix=execution_id, durable=False)
    broker = await Broker.connect(amqp_url, Topology(namespace), "execute")
    db = Database((data_dir or sagalab_home() / "executions") / f"{execution_id}.db", ORCHESTRATOR_SCHEMA)
    orchestrator = Orchestrator(loaded, resources, db, executions_for(workflow), reply_key=reply_key)
    host = ServiceHost("execute", db, broker, orchestrator_subscriptions(orchestrator, replies)[1:])
    orchestrator.host = host
    host.background = (orchestrator.run_timers,)
    try:
        await broker.declare_queue(NOTIFICATIONS)
        await host.start()
        with db.transaction() as conn:
            outgoing = orchestrator.begin(conn, execution_id, input, None)
            seqs = Database.stage(conn, None, outgoing)
        await host.send([OutboxRow(s, o) for s, o in zip(seqs, outgoing, strict=True)])
        limit = timeout_s or (loaded.machine.timeout_seconds or 300) + 5
        end = time.monotonic() + limit
        while time.monotonic() < end:
            current = orchestrator.executions.load(db.conn, execution_id)
            if current is not None and current.status != "RUNNING":
                break
            await asyncio.sleep(0.02)  # polling the execution's status with a deadline
        await host.stop()
        return Outcome(orchestrator.executions.load(db.conn, execution_id), store.history(db.conn, execution_id),
                       db.path)  # fmt: skip
    finally:
        await broker.close()
        db.close()
