"""Helpers shared by the message bus tests: backend semantics, limits, message factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agentrig.core.messaging import Message, MessageBus

BUS_OPTIONS = "idle_timeout_ms=300&max_deliveries=3&max_message_bytes=65536"
IDLE_TIMEOUT = 0.3
MAX_DELIVERIES = 3
MAX_MESSAGE_BYTES = 65536

OpenBus = Callable[[], Awaitable[MessageBus]]
"""Opens another handle on the bus under test (see the ``open_bus`` fixture)."""

OpenBusWith = Callable[[str], Awaitable[MessageBus]]
"""Opens the bus under test with more URL options (``"dead_letter_maxlen=10"``): a new bus."""


@dataclass(frozen=True)
class Semantics:
    """What a backend promises, so that tests state expected differences instead of hiding them.

    Attributes:
        durable: a message sent while nobody listens is kept and delivered later.
        redelivers: an unacknowledged or nacked delivery comes back (at-least-once).
    """

    durable: bool
    redelivers: bool


SEMANTICS = {
    "memory": Semantics(durable=True, redelivers=True),
    "redis-streams": Semantics(durable=True, redelivers=True),
    # The same bus reading ahead: every promise must survive prefetching.
    "redis-streams-prefetch": Semantics(durable=True, redelivers=True),
    "redis-pubsub": Semantics(durable=False, redelivers=False),
}


def make_message(recipient: str = "operator", **fields: object) -> Message:
    """A valid message with the usual defaults; ``fields`` override them."""
    values: dict[str, object] = {
        "type": "handoff",
        "sender": "diagnostician",
        "recipient": recipient,
        "correlation_id": "run-1",
        "content": {"device": "pump-1"},
    }
    values.update(fields)
    return Message.model_validate(values)


async def start_listening(bus: MessageBus, agent_id: str) -> None:
    """Make ``agent_id`` a live receiver: a first receive subscribes on pub/sub and creates the
    consumer group on Streams. Nothing may be waiting yet."""
    assert await bus.receive(agent_id, timeout=0) is None
