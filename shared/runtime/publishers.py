"""Who may publish what: each service's broker user, and the consumer's check that a message came from it.

RabbitMQ refuses a publish whose ``user_id`` property differs from the connection's user, so a delivery's
``user_id`` names its publisher for certain. An event must come from the service that emits its type (its
class ``owner``), a command to a participant from the orchestrator; anything else is forged or stray and is
dead-lettered with the error ``WrongPublisher``. The check is on when the service itself connects as its
own user (``sagalab users`` or a run with ``--own-users``); ``--unsafe no-publisher-check`` turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from shared.config import Settings
from shared.domain.contracts import Command, Event, Message, PlaceOrder

CLIENT_COMMANDS: tuple[type[Command], ...] = (PlaceOrder,)
"""Commands any client may send: they start a saga and carry no authority over another service's state."""

COMMANDER = "orchestrator"
"""The only service that commands participants (orchestration)."""


def broker_user(namespace: str, service: str) -> str:
    """The broker user a service of a namespace connects as: ``<namespace>.<service>``."""
    return f"{namespace}.{service}"


def expected_publisher(message: Message | type[Message]) -> str | None:
    """The service whose user must have published this message (or type), or None when any client may."""
    cls = message if isinstance(message, type) else type(message)
    if issubclass(cls, CLIENT_COMMANDS):
        return None
    if issubclass(cls, Command):
        return COMMANDER
    if issubclass(cls, Event):
        return cls.owner or None  # a generic participant's TaskSucceeded / TaskFailed has no owner
    return None


def connects_as_own_user(settings: Settings) -> bool:
    """The service's AMQP URL logs in as the service's own broker user."""
    return URL(settings.amqp_url).user == broker_user(settings.namespace, settings.service)


@dataclass(frozen=True)
class PublisherCheck:
    """Refuses a message whose validated ``user_id`` is not the user of the service that may publish it."""

    namespace: str
    enabled: bool

    @classmethod
    def for_service(cls, settings: Settings) -> PublisherCheck:
        """On wherever the service has its own user, unless ``--unsafe no-publisher-check``."""
        enabled = connects_as_own_user(settings) and "no-publisher-check" not in settings.unsafe
        return cls(settings.namespace, enabled)

    def refusal(self, message: Message, user_id: str | None) -> str | None:
        """Why this message must not be handled (None when its publisher is the right one)."""
        if not self.enabled or (owner := expected_publisher(message)) is None:
            return None
        expected = broker_user(self.namespace, owner)
        if user_id == expected:
            return None
        return f"{type(message).__name__} must be published by {expected}, was published by {user_id or 'a user not named'}"


NO_PUBLISHER_CHECK = PublisherCheck("", enabled=False)

