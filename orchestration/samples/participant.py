"""The ``lambdas`` participant: answers ``InvokeTask`` commands by running the sample functions.

It is a participant like any other (see docs/participant-protocol.md): it consumes ``<ns>.lambdas``, bound
to ``lambdas.#`` on the commands exchange, and replies on the replies exchange with the command's
``reply_to`` as routing key: ``TaskSucceeded`` with the function's result, or ``TaskFailed`` named after
the function's error type. The inbox makes a repeated command harmless; a failed attempt commits nothing,
so the retry the orchestrator sends under the same message id runs the function again.

``sagalab serve lambdas --mode orchestration`` runs it. ``--fault publisher-random`` turns on the random
failures the booking saga's publisher builds into its compensations; other ``--fault`` specs work as for
every service.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

from orchestration.participants import MissingReplyTo
from orchestration.samples.functions import FunctionError, Invocation, invoke
from shared.config import Settings
from shared.domain.contracts import InvokeTask, Message, TaskFailed, TaskSucceeded
from shared.runtime.faults import faults_of
from shared.runtime.host import ServiceHost
from shared.runtime.routes import Route, Subscription, Tx
from shared.stores.sqlite import Database
from shared.transport.broker import Broker
from shared.transport.topology import Binding, QueueSpec
from shared.transport.wire import Outgoing

PARTICIPANT = "lambdas"
QUEUE = QueueSpec(PARTICIPANT, (Binding("commands", f"{PARTICIPANT}.#"),))
PUBLISHER_RANDOM = "publisher-random"
"""The ``--fault`` that makes ``Invocation.random`` a real random draw, as ``Math.random()`` is."""

Draw = Callable[[], float]
Clock = Callable[[], datetime]


def _never() -> float:
    return 1.0


class LambdaRoutes:
    """The two route functions the host calls, with the clock and random source the functions are given."""

    def __init__(self, draw: Draw = _never, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.draw = draw
        self.clock = clock

    def answer(self, message: Message, tx: Tx) -> list[Outgoing]:
        """Run the named function inside the local transaction; its result is the reply."""
        assert isinstance(message, InvokeTask)
        if not tx.reply_to:
            raise MissingReplyTo(f"InvokeTask {message.message_id} has no reply_to")
        call = Invocation(request_id=message.message_id, now=self.clock(), random=self.draw())
        output = invoke(message.function, message.input, call)
        return [Outgoing.reply(message.caused(TaskSucceeded, output=output), tx.reply_to)]

    def answer_error(self, message: Message, exc: Exception, tx: Tx) -> list[Outgoing]:
        """A function error is named by its error type; anything else by the exception's class."""
        if not tx.reply_to:
            return []
        if isinstance(exc, FunctionError):
            error, cause = exc.error_type, exc.cause
        else:
            error, cause = type(exc).__name__, str(exc)
        return [Outgoing.reply(message.caused(TaskFailed, error=error, cause=cause), tx.reply_to)]


def subscriptions(routes: LambdaRoutes) -> list[Subscription]:
    route = Route(routes.answer, routes.answer_error)
    return [Subscription(QUEUE, {InvokeTask: route})]


def build_participant(settings: Settings, broker: Broker, draw: Draw | None = None) -> ServiceHost:
    """The ``lambdas`` process, ready to start; ``draw`` overrides where ``Invocation.random`` comes from."""
    publisher_random = PUBLISHER_RANDOM in settings.faults
    other_faults = tuple(f for f in settings.faults if f != PUBLISHER_RANDOM)
    routes = LambdaRoutes(draw or (random.random if publisher_random else _never))
    db = Database(settings.database_path(), "")
    return ServiceHost(PARTICIPANT, db, broker, subscriptions(routes), unsafe=settings.unsafe,
                       faults=faults_of(other_faults))  # fmt: skip
