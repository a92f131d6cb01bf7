"""``--peer``'s option alone (light: the CLI builds its parser without loading the bench)."""

from __future__ import annotations

import argparse

PEERS = ("asl", "temporal", "dbos")
"""asl: the ASL-over-AMQP engine (local-workflow-engine 1.0.4); temporal: Temporal's dev server with a
Python worker (SQLite); dbos: DBOS on the local PostgreSQL."""


def add_peer_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer", action="append", nargs="?", const="asl", choices=PEERS, default=None,
                   help="also run a peer on the same orders at the same concurrency, after the modes (repeatable): "
                        "asl (the default: the ASL-over-AMQP engine local-workflow-engine 1.0.4, installed in its "
                        "own venv under $SAGALAB_HOME/peer on first use), temporal, dbos")  # fmt: skip


def requested(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(dict.fromkeys(getattr(args, "peer", None) or ()))
