"""The service host's pruning loop: now and then, delete what has aged past its horizon, in small batches.

What is pruned and why it is safe is said in ``shared/stores/pruning.py`` (inbox, outbox) and, for the
orchestrator's finished executions, ``orchestration/retention.py``. Each batch is one short transaction,
so message handlers wait for at most one batch.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from shared.stores.pruning import SERVICE_PRUNERS, Pruner, ensure_indexes, inbox_horizon_s
from shared.stores.sqlite import Database

log = structlog.get_logger()

PRUNE_EVERY_S = 60.0
"""How often the loop looks for aged rows: ``SAGALAB_PRUNE_EVERY_S``."""
MAX_BATCHES = 50
"""Batches per pass at most, so a first pass over a large backlog does not hold the database for long."""


@dataclass(frozen=True)
class Horizon:
    """One kind of row and how old it may grow before it is deleted."""

    prune: Pruner
    keep_s: float


@dataclass
class Pruning:
    """What a service prunes: by default its inbox and outbox at the inbox horizon; the orchestrator adds
    its finished executions (``orchestration/retention.py``)."""

    horizons: Sequence[Horizon] = field(default_factory=lambda: [Horizon(p, inbox_horizon_s()) for p in SERVICE_PRUNERS])
    every_s: float = field(default_factory=lambda: float(os.environ.get("SAGALAB_PRUNE_EVERY_S") or PRUNE_EVERY_S))

    def prepare(self, db: Database) -> None:
        ensure_indexes(db.conn)

    def prune_once(self, db: Database, now: float | None = None) -> int:
        """One pass: batches of each kind until a batch comes back short. Returns the rows deleted."""
        now = time.time() if now is None else now
        deleted = 0
        for horizon in self.horizons:
            for _ in range(MAX_BATCHES):
                with db.transaction() as conn:
                    n = horizon.prune(conn, now - horizon.keep_s)
                deleted += n
                if n == 0:
                    break
        return deleted

    async def run(self, db: Database, stopping: asyncio.Event) -> None:
        """Background loop of the host: a pass every ``every_s`` seconds until the host stops."""
        self.prepare(db)
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), timeout=self.every_s)
            except TimeoutError:
                pass
            if not stopping.is_set():
                deleted = self.prune_once(db)
                if deleted:
                    log.info("pruned rows past their horizon", rows=deleted)
