"""The command adapters: how Payment, Inventory and Shipping answer an orchestrator's commands.

A command arrives on the service's queue; the same domain call choreography makes runs; its outcome
goes back to the orchestrator's ``reply_to`` as the reply. A handler that raises answers ``TaskFailed``
named after the exception, which is what the definition's ``Retry`` and ``Catch`` match.
"""

from __future__ import annotations

from shared.domain.contracts import Command, Message, TaskFailed, routing_key
from shared.runtime.handlers import commands_of, failure_of, handle_command, step_of
from shared.runtime.routes import Route, Subscription, Tx
from shared.transport.topology import Binding, QueueSpec
from shared.transport.wire import Outgoing


class MissingReplyTo(Exception):
    """A command with nowhere to send its answer cannot be part of an orchestrated saga."""


def answer(command: Message, tx: Tx) -> list[Outgoing]:
    assert isinstance(command, Command)
    if not tx.reply_to:
        raise MissingReplyTo(f"{type(command).__name__} {command.message_id} has no reply_to")
    return [Outgoing.reply(handle_command(command, tx.conn), tx.reply_to)]


def answer_error(command: Message, exc: Exception, tx: Tx) -> list[Outgoing]:
    if not tx.reply_to:
        return []
    failed = command.caused(TaskFailed, error=type(exc).__name__, cause=str(exc))
    return [Outgoing.reply(failed, tx.reply_to)]


def answer_failure(command: Message, reason: str, tx: Tx) -> list[Outgoing]:
    """A refused forward step (or one that cannot be done) answers with its business failure."""
    assert isinstance(command, Command)
    failure = failure_of(command, reason)
    return [Outgoing.reply(failure, tx.reply_to)] if failure is not None and tx.reply_to else []


def subscriptions(service: str, prefetch: int = 64) -> list[Subscription]:
    commands = commands_of(service)
    if not commands:
        raise ValueError(f"{service!r} takes no commands")
    routes: dict[type[Message], Route] = {
        cmd: Route(answer, answer_error, step=step_of(cmd, answer_failure)) for cmd in commands
    }
    keys = tuple(Binding("commands", routing_key(cmd)) for cmd in commands)
    return [Subscription(QueueSpec(service, keys, prefetch), routes)]
