"""The MessageBus protocol: inboxes with acknowledgement, topics, and dead letters.

Point-to-point: ``send(message)`` puts a message in ``message.recipient``'s inbox;
``receive(agent_id, timeout)`` takes the next one as a :class:`Delivery`; ``ack(delivery)``
marks it processed. A delivery that is never acked (its consumer died) is delivered again, on the
durable backends, after the bus's idle timeout; after ``max_deliveries`` attempts it moves to the
dead letters with the reason. ``nack`` gives a message back at once with a reason.

Inbox lifetime: ``declare_inbox(agent_id)`` makes an inbox exist *before* anything is sent to it,
so that what is sent from then on is kept for its receiver even on the pub/sub bus, which keeps
nothing for an inbox nobody listens to; ``receive`` declares on its first call too, which is too
late there. ``release_inbox(agent_id)`` deletes an inbox that is done with (a finished run's), with
whatever it still holds, and frees what the bus kept for it.

Broadcast: ``publish(topic, message)`` reaches every current subscriber of ``topic``.

Data that is not a valid :class:`Message` is never dropped and never crashes a consumer: it goes to
the dead letters with the validation error. The dead letters are bounded (:class:`DeadLetterLimits`):
about ``maxlen`` are kept, the oldest dropped first, and a payload over ``max_bytes`` is kept
truncated, with a marker giving its original size and SHA-256.

The wire format is the same on every backend: a message is its ``model_dump_json()`` text
(:func:`encode_message`), checked against the bus's size limit at send, and validated again on
receive (:func:`decode_message`).
"""

from __future__ import annotations

import hashlib
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
    "DEFAULT_DEAD_LETTER_MAXLEN",
    "DEFAULT_DEAD_LETTER_MAX_BYTES",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DeadLetter",
    "DeadLetterLimits",
    "Delivery",
    "MessageBus",
    "MessageBusBase",
    "Subscription",
    "SubscriptionBase",
    "TruncatedRaw",
    "decode_message",
    "describe_validation_error",
    "encode_message",
    "truncate_raw",
]

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest encoded message a bus accepts by default (1 MiB)."""

DEFAULT_MAX_DELIVERIES = 5
"""Delivery attempts before a message is dead-lettered."""

DEFAULT_IDLE_TIMEOUT = 30.0
"""Seconds a delivery may stay unacknowledged before another consumer may take it over."""

DEFAULT_DEAD_LETTER_MAXLEN = 1000
"""About how many dead letters a bus keeps; the oldest go first."""

DEFAULT_DEAD_LETTER_MAX_BYTES = 64 * 1024
"""Bytes of a dead letter's payload kept; the rest is cut off behind a marker (size, SHA-256).
With the default count, the dead letters hold at most about 64 MiB."""


@dataclass(frozen=True, slots=True)
class DeadLetterLimits:
    """How much of the dead letters a bus keeps (``dead_letter_maxlen``, ``dead_letter_max_bytes``
    in a bus URL).

    Attributes:
        maxlen: about how many dead letters are kept; older ones are dropped (Redis trims whole
            stream nodes, so it may keep up to ~100 more; the memory bus keeps exactly this many).
        max_bytes: UTF-8 bytes of a payload kept; a longer one is truncated with a marker.
    """

    maxlen: int = DEFAULT_DEAD_LETTER_MAXLEN
    max_bytes: int = DEFAULT_DEAD_LETTER_MAX_BYTES

    def __post_init__(self) -> None:
        if self.maxlen < 1 or self.max_bytes < 1:
            raise ConfigurationError(
                "dead_letter_maxlen and dead_letter_max_bytes must be at least 1, "
                f"not {self.maxlen} and {self.max_bytes}"
            )


@dataclass(frozen=True, slots=True)
class TruncatedRaw:
    """A dead letter's payload as kept: whole, or cut with a marker.

    Attributes:
        text: what is stored.
        original_bytes: the payload's UTF-8 size when it was cut, else None.
        original_sha256: the SHA-256 (hex) of the whole payload when it was cut, else None.
    """

    text: str
    original_bytes: int | None = None
    original_sha256: str | None = None


def truncate_raw(raw: str, max_bytes: int) -> TruncatedRaw:
    """``raw`` whole when it fits in ``max_bytes`` UTF-8 bytes, else its first ``max_bytes`` bytes
    (never splitting a character) followed by a marker with the original size and SHA-256, so that
    an oversized dead letter is recorded and recognisable, never silently dropped."""
    if len(raw) * 4 <= max_bytes:  # cheap: no character is longer than 4 bytes
        return TruncatedRaw(raw)
    data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) <= max_bytes:
        return TruncatedRaw(raw)
    digest = hashlib.sha256(data).hexdigest()
    head = data[:max_bytes].decode("utf-8", errors="ignore")  # drops a cut-through character
    marker = f"...[truncated by agentrig: {len(data)} bytes, sha256 {digest}]"
    return TruncatedRaw(head + marker, original_bytes=len(data), original_sha256=digest)


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
        original_bytes: when ``raw`` was truncated (over ``dead_letter_max_bytes``), the size of
            the whole payload in bytes; None when ``raw`` is whole.
        original_sha256: when ``raw`` was truncated, the SHA-256 (hex) of the whole payload.
    """

    inbox: str
    reason: str
    raw: str
    message: Message | None
    attempts: int
    dead_at: datetime
    delivery_id: str = ""
    original_bytes: int | None = None
    original_sha256: str | None = None


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

    async def declare_inbox(self, agent_id: str) -> None:
        """Make ``agent_id``'s inbox exist, so that what is sent to it from now on waits for its
        receiver (pub/sub: subscribe now, not on the first ``receive``). Idempotent.

        Raises:
            BackendUnavailableError: the bus's server cannot be reached.
        """
        ...

    async def release_inbox(self, agent_id: str) -> None:
        """Delete ``agent_id``'s inbox and what it still holds; free what the bus kept for it.

        For inboxes that are done with, such as a finished run's; a later ``send``, ``receive``
        or ``declare_inbox`` starts a new, empty one. Dead letters are kept.
        """
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
        dead_letter_limits: how many dead letters, and how much of each payload, are kept.
    """

    def __init__(
        self,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        dead_letter_limits: DeadLetterLimits | None = None,
    ) -> None:
        if max_message_bytes < 1:
            raise ConfigurationError(
                f"max_message_bytes must be at least 1, not {max_message_bytes}"
            )
        self.max_message_bytes = max_message_bytes
        self.dead_letter_limits = dead_letter_limits or DeadLetterLimits()

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
