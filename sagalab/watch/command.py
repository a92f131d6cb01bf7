"""``sagalab watch``: attach a tap of its own to a namespace and show its sagas as the messages go by.

The tap's queue is exclusive and auto-deleted: it lives as long as the watch and leaves nothing behind. A watch
sees the messages published after it attached, so sagas already half-way through show from there on.

``--json`` writes one JSON object per line: ``{"event": "watching", "namespace", "queue"}`` once bound, then
``{"event": "saga", ...}`` with an order's whole state each time a message changes it (fields of
``sagalab.watch.fold.Saga``), and ``{"event": "end", "reason", "sagas"}`` when it stops on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from collections import Counter
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live

from sagalab.exits import EXIT_OK, UsageError
from sagalab.watch.fold import Fold
from sagalab.watch.view import render
from shared.transport.broker import Broker
from shared.transport.observed import Observed
from shared.transport.tap import tap
from shared.transport.topology import Topology


async def watch(args: argparse.Namespace, console: Console) -> int:
    if args.until_idle is not None and args.until_idle <= 0:
        raise UsageError("--until-idle must be a positive number of seconds")
    topology = Topology(args.namespace)
    broker = await Broker.connect(args.amqp_url, topology, "watch")
    inbox: asyncio.Queue[Observed] = asyncio.Queue()
    fold = Fold(topology)
    try:
        queue_name = f"{topology.tap_queue}.watch-{secrets.token_hex(4)}"
        await tap(broker, inbox.put_nowait, queue_name=queue_name, exclusive=True)
        if args.json:
            _emit(sys.stdout, {"event": "watching", "namespace": args.namespace, "queue": queue_name})
            reason = await _follow(fold, inbox, args, lambda saga: _emit(sys.stdout, saga.as_json()))
            _emit(sys.stdout, {"event": "end", "reason": reason,
                               "sagas": dict(Counter(s.status for s in fold.sagas.values()))})  # fmt: skip
        else:
            with Live(get_renderable=lambda: render(fold, args.namespace), console=console, refresh_per_second=4):
                reason = await _follow(fold, inbox, args, lambda saga: None)
            console.print(f"stopped: {reason}", style="dim", highlight=False)
    finally:
        await broker.close()
    return EXIT_OK


async def _follow(fold: Fold, inbox: asyncio.Queue[Observed], args: argparse.Namespace, changed: Any) -> str:
    """Fold messages in until told to stop: every saga ended (``--once``) or nothing came for a while."""
    while True:
        try:
            seen = await asyncio.wait_for(inbox.get(), timeout=args.until_idle)
        except TimeoutError:
            return f"no message for {args.until_idle:g}s"
        saga = fold.apply(seen)
        if saga is not None:
            changed(saga)
        if args.once and fold.sagas and all(s.finished for s in fold.sagas.values()):
            return "every saga seen has ended"


def _emit(out: TextIO, document: dict[str, Any]) -> None:
    out.write(json.dumps(document) + "\n")
    out.flush()
