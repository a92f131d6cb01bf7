"""The options every command shares, the service's own included: the broker, the namespace, the store and the
durability, each checked where it is read so a bad value is a usage error (status 2). Light on purpose:
``sagalab serve`` parses them at every start of every service."""

from __future__ import annotations

import argparse
import os

from sagalab.amqp_option import amqp_url_option
from sagalab.clean import shared_with_parent
from shared.config import DURABILITIES, default_namespace, namespace_problem
from shared.stores.location import BadStore, parse_store


def namespace_type(value: str) -> str:
    """A namespace, checked here so that a bad one is a usage error (status 2), never a traceback."""
    if problem := namespace_problem(value):
        raise argparse.ArgumentTypeError(problem)
    if shared := shared_with_parent(value):
        raise argparse.ArgumentTypeError(f"{value!r} would share {shared} with the namespace it is nested in, and "
                                         "cleaning either would delete it; choose another name")  # fmt: skip
    return value


def durability_option(p: argparse.ArgumentParser) -> None:
    """``--durability strict|light``; its default is ``$SAGALAB_DURABILITY`` (checked in ``main``), else strict."""
    p.add_argument("--durability", choices=DURABILITIES, default=None,
                   help="strict: quorum queues and publisher confirms; light: classic durable queues, persistent "
                        "messages, no confirms (a broker crash can lose a publish the outbox marked sent; see README). "
                        "Default: the scenario's own (run, compare), else $SAGALAB_DURABILITY, else strict")  # fmt: skip


def store_type(value: str) -> str | None:
    """A ``--store``, read here so a bad one is a usage error (status 2)."""
    try:
        return parse_store(value)
    except BadStore as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def store_option(p: argparse.ArgumentParser, what: str = "where the services' databases live") -> None:
    p.add_argument("--store", type=store_type, default=os.environ.get("SAGALAB_STORE") or "sqlite",
                   metavar="sqlite|postgresql://...",
                   help=f"{what}: SQLite files (default) or a PostgreSQL server, a schema per service of "
                        "the namespace (default: $SAGALAB_STORE, else sqlite)")  # fmt: skip


def common_options(p: argparse.ArgumentParser) -> None:
    amqp_url_option(p, "default: $AMQP_URL or the local broker")
    p.add_argument("--namespace", type=namespace_type, default=default_namespace(),
                   help="prefix of every exchange, queue and database (default: $SAGALAB_NAMESPACE, else "
                        "sagalab-<user>; now %(default)s)")  # fmt: skip
