"""The MessageBus protocol: inboxes with acknowledgement, topics, and dead letters.

Point-to-point: ``send(message)`` puts a message in ``message.recipient``'s inbox;
``receive(agent_id, timeout)`` takes the next one as a :class:`Delivery`; ``ack(delivery)``
marks it processed. A delivery that is never acked (its consumer died) is delivered again, on the
durable backends, after the bus's idle timeout; after ``max_deliveries`` attempts it moves to the
dead letters with the reason. ``nack`` gives a message back at once with a reason.

Broadcast: ``publish(topic, message)`` reaches every current subscriber of ``topic``.

Data that is not a valid :class:`Message` is never dropped and never crashes a consumer: it goes to
the dead letters with the validation error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from agentrig.core.messaging.message import Message

__all__ = [
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DeadLetter",
    "Delivery",
    "MessageBus",
    "MessageBusBase",
    "Subscription",
]

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest encoded message a bus accepts by default (1 MiB)."""

DEFAULT_MAX_DELIVERIES = 5
"""Delivery attempts before a message is dead-lettered."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message as received from an inbox, with what is needed to ack it.

    Attributes:
        message: the message.
        inbox: the agent id it was received for.
        delivery_id: the backend's id for this entry (a stream entry id on Redis).
        attempt: 1 on first delivery, more after redelivery.
    """

    message: Message
    inbox: str
    delivery_id: str
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Something that could not be delivered or processed, kept with the reason.

    ``message`` is None when the raw data was not a valid Message; ``raw`` then holds it as text.
    """

    inbox: str
    reason: str
    raw: str
    message: Message | None
    attempts: int
    dead_at: datetime


@runtime_checkable
class Subscription(Protocol):
    """Messages published on a topic after subscribing; iterate with ``async for``."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message, or None after ``timeout`` seconds."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class MessageBus(Protocol):
    """Inboxes with at-least-once delivery (on durable backends), topics and dead letters.

    Example -- a consumer loop::

        async with open_message_bus("redis://127.0.0.1:6379/0") as bus:
            while (delivery := await bus.receive("diagnostician", timeout=5.0)) is not None:
                handle(delivery.message)
                await bus.ack(delivery)
    """

    async def send(self, message: Message) -> str:
        """Put ``message`` in ``message.recipient``'s inbox; return its delivery id.

        Raises:
            MessageTooLargeError: the encoded message is over the bus's limit; nothing was sent.
        """
        ...

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        """The next message for ``agent_id``, or None after ``timeout`` seconds (None: wait)."""
        ...

    async def ack(self, delivery: Delivery) -> None:
        """Mark a delivery processed; it will not be delivered again."""
        ...

    async def nack(self, delivery: Delivery, reason: str) -> None:
        """Give a delivery back: delivered again, or dead-lettered after too many attempts."""
        ...

    async def publish(self, topic: str, message: Message) -> None:
        """Broadcast ``message`` to the current subscribers of ``topic``."""
        ...

    async def subscribe(self, topic: str) -> Subscription:
        """Start receiving what is published on ``topic`` from now on."""
        ...

    async def dead_letters(self, inbox: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The dead letters, oldest first, optionally of one inbox."""
        ...

    async def close(self) -> None: ...


class MessageBusBase:
    """Shared behaviour of the built-in buses: ``async with`` support."""

    async def close(self) -> None:
        """Release resources; backends with connections override this."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
