"""The Message model, the MessageBus protocol and its backends, chosen by URL.

==============================  =============================================  =========
URL                             backend                                        extra
==============================  =============================================  =========
``memory://``                   in-process inboxes and topics (the default)    --
``redis://host:port/db``        Redis Streams + consumer groups: durable,      ``redis``
                                at-least-once, redelivery, dead letters
``redis+pubsub://host:port/db`` Redis pub/sub: fire-and-forget; what is sent   ``redis``
                                while nobody listens is lost
==============================  =============================================  =========

Query parameters (all optional): ``prefix`` (key namespace, default ``agentrig:``), ``group``,
``consumer``, ``idle_timeout_ms``, ``max_deliveries``, ``max_message_bytes``, ``topic_maxlen``,
``prefetch``, ``dead_letter_maxlen``, ``dead_letter_max_bytes``; see docs/messaging.md. Declare an
inbox (``declare_inbox``) before sending to it and release it (``release_inbox``) when done.
Consumers continue the sender's trace with :func:`extract_trace_context`.
"""

from __future__ import annotations

from agentrig.core.backends import open_backend
from agentrig.core.messaging.base import (
    DEFAULT_DEAD_LETTER_MAX_BYTES,
    DEFAULT_DEAD_LETTER_MAXLEN,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_MESSAGE_BYTES,
    DeadLetter,
    DeadLetterLimits,
    Delivery,
    MessageBus,
    MessageBusBase,
    Subscription,
    SubscriptionBase,
    decode_message,
    encode_message,
)
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.messaging.message import SCHEMA_VERSION, Message, new_message_id
from agentrig.core.messaging.tracecontext import extract_trace_context, inject_trace_context

__all__ = [
    "DEFAULT_BUS_URL",
    "DEFAULT_DEAD_LETTER_MAXLEN",
    "DEFAULT_DEAD_LETTER_MAX_BYTES",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "DeadLetter",
    "DeadLetterLimits",
    "Delivery",
    "MemoryMessageBus",
    "Message",
    "MessageBus",
    "MessageBusBase",
    "Subscription",
    "SubscriptionBase",
    "decode_message",
    "encode_message",
    "extract_trace_context",
    "inject_trace_context",
    "new_message_id",
    "open_message_bus",
]

DEFAULT_BUS_URL = "memory://"

# scheme -> (module, class); imported on first use so that `import agentrig` needs no extras.
_BACKENDS: dict[str, tuple[str, str]] = {
    "memory": ("agentrig.core.messaging.memory", "MemoryMessageBus"),
    "redis": ("agentrig.core.messaging.redis_streams", "RedisStreamsMessageBus"),
    "rediss": ("agentrig.core.messaging.redis_streams", "RedisStreamsMessageBus"),
    "redis+pubsub": ("agentrig.core.messaging.redis_pubsub", "RedisPubSubMessageBus"),
}


def open_message_bus(url: str = DEFAULT_BUS_URL) -> MessageBus:
    """Open the bus that ``url`` names. Backends connect lazily, on first use; entering a Redis
    bus with ``async with`` checks that its server answers (``BackendUnavailableError`` if not).

    Raises:
        ConfigurationError: the scheme is unknown or the URL is malformed.
        MissingExtraError: the backend's client library is not installed.
    """
    bus: MessageBus = open_backend(url, _BACKENDS, "message bus")
    return bus
