"""The ``--amqp-url`` option: one broker, or the nodes of a cluster (repeated, or comma-joined)."""

from __future__ import annotations

import argparse

from shared.config import default_amqp_url
from shared.transport.failover import BadAmqpUrl, join_urls, split_urls


def amqp_urls(value: str) -> str:
    """One AMQP URL or several comma-joined (a cluster's nodes), checked here so a bad one is a usage error."""
    try:
        return join_urls(split_urls(value))
    except BadAmqpUrl as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class JoinUrls(argparse.Action):
    """``--amqp-url`` given several times: the nodes of one cluster, comma-joined (the first replaces the default)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:  # fmt: skip
        current = getattr(namespace, self.dest)
        given = current is not self.default and current is not None
        setattr(namespace, self.dest, amqp_urls(f"{current},{values}") if given else values)


def amqp_url_option(p: argparse.ArgumentParser, help: str) -> None:  # noqa: A002
    p.add_argument("--amqp-url", default=default_amqp_url(), type=amqp_urls, action=JoinUrls,
                   help=f"{help}; repeat it (or comma-join) for the nodes of a cluster")  # fmt: skip
