"""The fire-and-forget message bus: Redis pub/sub (``redis+pubsub://``), as the seed sketched it.

``send`` PUBLISHes to the channel ``{prefix}inbox:{recipient}``; ``declare_inbox(agent_id)``
SUBSCRIBEs to that channel (``receive`` does on its first call, if nobody declared it) and the
subscription is kept until ``release_inbox`` or ``close``; what arrives on it in between is buffered
for ``receive``. Declare an inbox before anything is sent to it: Redis keeps nothing:

- a message sent while nobody is subscribed to the inbox is **lost** (``send`` logs a warning
  when Redis reports no receiver): declare first;
- a message delivered to a consumer that crashes before handling it is **lost**;
- every subscriber of an inbox gets every message (there is no consumer group);
- ``ack`` does nothing, since there is nothing to redeliver; ``nack`` dead-letters the message
  with its reason, so that it is at least recorded.

Use it to compare against the seed's behaviour, or for telemetry-like traffic that may be lost;
use ``redis://`` (Streams) for work that must be done. Dead letters (nacks, and data on a
channel that is not a valid Message) go to the ``{prefix}dead-letters`` stream, as on Streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from agentrig.exceptions import MissingExtraError

try:
    import redis.asyncio as redis_asyncio
    from redis.asyncio.client import PubSub
except ImportError as error:  # the 'redis' extra is optional
    raise MissingExtraError("the Redis message bus", "redis") from error

from agentrig.core.backends import redact_url
from agentrig.core.messaging._batching import CommandBatcher
from agentrig.core.messaging._redis import (
    CLIENT_URL_PARAMETERS,
    RedisBusBase,
    as_text,
)
from agentrig.core.messaging._url import DEFAULT_PREFIX, parse_bus_url
from agentrig.core.messaging.base import (
    DEFAULT_MAX_MESSAGE_BYTES,
    DeadLetterLimits,
    Delivery,
    SubscriptionBase,
    decode_message,
)
from agentrig.core.messaging.message import Message
from agentrig.exceptions import InvalidMessageError

__all__ = ["RedisPubSubMessageBus", "RedisPubSubSubscription"]

logger = structlog.get_logger(__name__)

# How long to wait for Redis to confirm a SUBSCRIBE; it answers in well under a millisecond.
_SUBSCRIBE_CONFIRM_SECONDS = 5.0


class _Channel:
    """One pub/sub connection subscribed to one channel, confirmed before it is used."""

    def __init__(self, pubsub: PubSub, channel: str) -> None:
        self.pubsub = pubsub
        self.channel = channel
        # One reader at a time: a connection cannot serve two concurrent reads.
        self._reading = asyncio.Lock()

    @classmethod
    async def open(cls, client: redis_asyncio.Redis, channel: str) -> _Channel:
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        # Wait for the confirmation: only from then on does Redis route PUBLISHes to us.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SUBSCRIBE_CONFIRM_SECONDS
        while loop.time() < deadline:
            reply = await pubsub.get_message(timeout=deadline - loop.time())
            if reply is not None and reply["type"] == "subscribe":
                return cls(pubsub, channel)
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        raise TimeoutError(f"Redis did not confirm SUBSCRIBE {channel}")

    async def next_data(self, timeout: float | None) -> bytes | str | None:
        """The next published payload, or None after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            async with self._reading:
                remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
                reply: Mapping[str, Any] | None = await self.pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=remaining
                )
            if reply is not None and reply["type"] == "message":
                data: bytes | str = reply["data"]
                return data
            if deadline is not None and loop.time() >= deadline:
                return None

    async def close(self) -> None:
        await self.pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


class RedisPubSubSubscription(SubscriptionBase):
    """What is published on a topic channel while this subscription is open."""

    def __init__(self, bus: RedisPubSubMessageBus, topic: str, channel: _Channel) -> None:
        self.topic = topic
        self._bus = bus
        self._channel = channel

    async def get(self, timeout: float | None = None) -> Message | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self.closed:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
            data = await self._channel.next_data(remaining)
            if data is None:
                return None
            message = await self._bus._validate(f"topic:{self.topic}", self._channel.channel, data)
            if message is not None:
                return message
        return None

    async def close(self) -> None:
        if not self.closed:
            self._bus._subscriptions.discard(self)
            await self._channel.close()
        await super().close()


class RedisPubSubMessageBus(RedisBusBase):
    """Inboxes and topics on Redis pub/sub: no persistence, no redelivery (see module docs).

    Args:
        client: a ``redis.asyncio.Redis`` speaking RESP2 (the default protocol).
        prefix: namespace of every channel and key of this bus. Pub/sub channels ignore the
            database number, so the prefix is what separates two deployments on one server.
        max_message_bytes: largest encoded message ``send`` accepts.
        dead_letter_limits, close_client, url: as in :class:`RedisBusBase`.
    """

    def __init__(
        self,
        client: redis_asyncio.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        dead_letter_limits: DeadLetterLimits | None = None,
        close_client: bool = False,
        url: str | None = None,
    ) -> None:
        super().__init__(
            client,
            prefix=prefix,
            max_message_bytes=max_message_bytes,
            dead_letter_limits=dead_letter_limits,
            close_client=close_client,
            url=url,
        )
        self._batcher = CommandBatcher(client)  # concurrent PUBLISHes share a round trip
        self._inboxes: dict[str, _Channel] = {}
        self._inbox_locks: dict[str, asyncio.Lock] = {}
        self._subscriptions: set[RedisPubSubSubscription] = set()

    @classmethod
    def from_url(cls, url: str) -> RedisPubSubMessageBus:
        """Build from ``redis+pubsub://host:port/db?prefix=&max_message_bytes=&dead_letter_maxlen=
        &dead_letter_max_bytes=`` (plus redis-py's own parameters). Options that only mean something on Streams (``group``,
        ``idle_timeout_ms``, ``max_deliveries``, ...) are accepted and ignored, so that one URL
        query works for both Redis buses.
        """
        options = parse_bus_url(url, client_parameters=CLIENT_URL_PARAMETERS, client_scheme="redis")
        return cls(
            redis_asyncio.Redis.from_url(options.client_url),
            prefix=options.prefix,
            max_message_bytes=options.max_message_bytes,
            dead_letter_limits=options.dead_letter_limits,
            close_client=True,
            url=redact_url(url),
        )

    async def send(self, message: Message) -> str:
        message, data = self.prepare(message)
        channel = self.keys.inbox(message.recipient)
        receivers = await self._batcher.call("PUBLISH", channel, data)
        if not receivers:
            logger.warning(
                "message lost: nobody is subscribed to the inbox (redis+pubsub keeps nothing)",
                inbox=message.recipient,
                message_id=message.id,
            )
        return message.id

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        inbox = await self._inbox(agent_id)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
            data = await inbox.next_data(remaining)
            if data is None:
                return None
            message = await self._validate(agent_id, inbox.channel, data)
            if message is not None:
                return Delivery(message=message, inbox=agent_id, delivery_id=message.id)

    async def _inbox(self, agent_id: str) -> _Channel:
        lock = self._inbox_locks.setdefault(agent_id, asyncio.Lock())
        async with lock:  # two concurrent first receives must not subscribe twice
            if agent_id not in self._inboxes:
                self._inboxes[agent_id] = await _Channel.open(
                    self.client, self.keys.inbox(agent_id)
                )
            return self._inboxes[agent_id]

    async def _validate(self, inbox: str, channel: str, data: bytes | str) -> Message | None:
        """The message in ``data``, or None after dead-lettering data that is not one."""
        try:
            return decode_message(data, f"redis channel {channel}")
        except InvalidMessageError as error:
            logger.warning("invalid message dead-lettered", inbox=inbox, reason=str(error))
            await self.add_dead_letter(
                inbox=inbox,
                reason=str(error),
                raw=as_text(data),
                attempts=1,
                delivery_id="",
            )
            return None

    async def ack(self, delivery: Delivery) -> None:
        """Nothing to do: pub/sub never redelivers."""

    async def nack(self, delivery: Delivery, reason: str) -> None:
        """Pub/sub cannot redeliver: record the message as a dead letter with ``reason``."""
        await self.add_dead_letter(
            inbox=delivery.inbox,
            reason=f"nacked (redis+pubsub cannot redeliver): {reason}",
            raw=delivery.message.model_dump_json(),
            attempts=delivery.attempt,
            delivery_id=delivery.delivery_id,
        )

    async def declare_inbox(self, agent_id: str) -> None:
        await self._inbox(agent_id)

    async def release_inbox(self, agent_id: str) -> None:
        async with self._inbox_locks.setdefault(agent_id, asyncio.Lock()):  # not mid-declare
            channel = self._inboxes.pop(agent_id, None)
        self._inbox_locks.pop(agent_id, None)
        if channel is not None:
            await channel.close()  # UNSUBSCRIBE; what was buffered for the inbox goes with it

    async def publish(self, topic: str, message: Message) -> None:
        _, data = self.prepare(message)
        await self._batcher.call("PUBLISH", self.keys.topic(topic), data)

    async def subscribe(self, topic: str) -> RedisPubSubSubscription:
        channel = await _Channel.open(self.client, self.keys.topic(topic))
        subscription = RedisPubSubSubscription(self, topic, channel)
        self._subscriptions.add(subscription)
        return subscription

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
        for channel in self._inboxes.values():
            await channel.close()
        self._inboxes.clear()
        await self._batcher.drain()
        if self._close_client:
            await self.client.aclose()
