"""The MessageBus protocol: inboxes with acknowledgement, topics, and dead letters.

Point-to-point: ``send(message)`` puts a message in ``message.recipient``'s inbox;
``receive(agent_id, timeout)`` takes the next one as a :class:`Delivery`; ``ack(delivery)``
marks it processed. A delivery that is never acked (its consumer died) is delivered again, on the
durable backends, after the bus's idle timeout; after ``max_deliveries`` attempts it moves to the
dead letters with the reason. ``nack`` gives a message back at once with a reason.

Broadcast: ``publish(topic, message)`` reaches every current subscriber of ``topic``.

Data that is not a valid :class:`Message` is never dropped and never crashes a consumer: it goes to
the dead letters with the validation error.

The wire format is the same on every backend: a message is its ``model_dump_json()`` text
(:func:`encode_message`), checked against the bus's size limit at send, and validated again on
receive (:func:`decode_message`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from pydantic import ValidationError

from agentrig.core.backends import AsyncClosing
from agentrig.core.messaging.message import Message
from agentrig.core.messaging.tracecontext import inject_trace_context
from agentrig.exceptions import ConfigurationError, InvalidMessageError, MessageTooLargeError

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DeadLetter",
    "Delivery",
    "MessageBus",
    "MessageBusBase",
    "Subscription",
    "SubscriptionBase",
    "decode_message",
    "describe_validation_error",
    "encode_message",
]

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest encoded message a bus accepts by default (1 MiB)."""

DEFAULT_MAX_DELIVERIES = 5
"""Delivery attempts before a message is dead-lettered."""

DEFAULT_IDLE_TIMEOUT = 30.0
"""Seconds a delivery may stay unacknowledged before another consumer may take it over."""


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

    Attributes:
        inbox: the agent id (or ``topic:<name>``) the data was addressed to.
        reason: why it was dead-lettered: the validation error, the nack reason, or "not
            acknowledged after N deliveries".
        raw: the data as it was on the bus, as text.
        message: the message, when ``raw`` is a valid one.
        attempts: how many times it was delivered before it was given up.
        dead_at: when it was dead-lettered (UTC).
        delivery_id: the id it had in its inbox (a stream entry id on Redis).
    """

    inbox: str
    reason: str
    raw: str
    message: Message | None
    attempts: int
    dead_at: datetime
    delivery_id: str = ""


@runtime_checkable
class Subscription(Protocol):
    """Messages published on a topic after subscribing; ``async for`` them, ``async with`` it.

    Iteration ends when the subscription is closed.
    """

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message, or None after ``timeout`` seconds (None: wait)."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


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

    async def close(self) -> None:
        """Release connections; the bus is unusable afterwards."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class SubscriptionBase(AsyncClosing):
    """Shared behaviour of the built-in subscriptions: ``async for`` and ``async with``.

    Iteration ends when the subscription is closed (from another task, or by leaving the
    ``async with`` block).
    """

    # How long one wait inside ``async for`` lasts before it checks whether it was closed.
    _ITERATION_POLL_SECONDS = 1.0

    closed: bool = False

    async def get(self, timeout: float | None = None) -> Message | None:
        raise NotImplementedError

    async def close(self) -> None:
        self.closed = True

    async def __aiter__(self) -> AsyncIterator[Message]:
        while not self.closed:
            message = await self.get(timeout=self._ITERATION_POLL_SECONDS)
            if message is not None:
                yield message


class MessageBusBase(AsyncClosing):
    """Shared behaviour of the built-in buses: size limit, trace context, ``async with``.

    Args:
        max_message_bytes: the largest encoded message :meth:`prepare` lets through.
    """

    def __init__(self, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes < 1:
            raise ConfigurationError(
                f"max_message_bytes must be at least 1, not {max_message_bytes}"
            )
        self.max_message_bytes = max_message_bytes

    def prepare(self, message: Message) -> tuple[Message, str]:
        """What every ``send`` and ``publish`` does first: inject trace context, encode, check size.

        Returns:
            the message as it will be delivered (with trace headers) and its encoded text.

        Raises:
            MessageTooLargeError: the encoded message is over ``max_message_bytes``.
        """
        message = inject_trace_context(message)
        return message, encode_message(message, self.max_message_bytes)


def encode_message(message: Message, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> str:
    """The wire form of ``message`` (its JSON text), refused when over ``max_bytes`` UTF-8 bytes.

    Raises:
        MessageTooLargeError: naming the message, its size and the limit.
    """
    text = message.model_dump_json()
    # len(text) is a cheap lower bound of the UTF-8 size; encode only when it could matter.
    if len(text) * 4 > max_bytes:
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            raise MessageTooLargeError(message.id, size, max_bytes)
    return text


def decode_message(data: str | bytes | None, source: str) -> Message:
    """Validate wire data as a :class:`Message`.

    Args:
        data: the JSON text (None when the entry had no message field at all).
        source: where it came from, for the error (``redis stream agentrig:inbox:operator``).

    Raises:
        InvalidMessageError: the data is not JSON or not a valid Message; the reason lists
            each offending field, so it can be stored with the dead letter.
    """
    if data is None:
        raise InvalidMessageError(source, "the entry has no 'message' field")
    try:
        return Message.model_validate_json(data)
    except ValidationError as error:
        raise InvalidMessageError(source, describe_validation_error(error)) from error


def describe_validation_error(error: ValidationError) -> str:
    """A one-line summary of a pydantic error: ``field: problem; field: problem``."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in detail["loc"]) or "(message)"
        problems.append(f"{location}: {detail['msg']}")
    return "; ".join(problems)
