"""Topics of the Redis Streams bus: one stream per topic, read by each subscription with XREAD.

A subscription starts at the last entry that existed when it subscribed and keeps its own read
position, so it sees everything published after ``subscribe`` returned -- also what arrives while
it is busy between two ``get`` calls -- unless it falls more than ``topic_maxlen`` entries behind.
Topic entries are never acked or deleted (other subscribers read them too); the stream is capped
by ``XADD MAXLEN ~`` at publish.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from agentrig.core.messaging._redis import (
    RedisKeys,
    add_dead_letter,
    block_ms,
    redis_asyncio,
    render_raw_entry,
    stream_entries,
)
from agentrig.core.messaging.base import DeadLetterLimits, SubscriptionBase, decode_message
from agentrig.core.messaging.message import Message
from agentrig.exceptions import InvalidMessageError

__all__ = ["RedisStreamsSubscription"]

logger = structlog.get_logger(__name__)


class RedisStreamsSubscription(SubscriptionBase):
    """What is published on a topic stream after subscribing.

    Args:
        client: the bus's Redis client.
        keys: the bus's key names.
        topic: the topic.
        last_id: read entries after this one.
        reader: who reads (the bus's consumer name), recorded with dead letters.
        dead_letter_limits: the bus's bounds on its dead letters.
        on_close: told when the subscription closes, so the bus stops tracking it.
    """

    _BATCH = 100  # entries per XREAD: buffered here, handed out one per get

    def __init__(
        self,
        client: redis_asyncio.Redis,
        keys: RedisKeys,
        topic: str,
        last_id: str,
        *,
        reader: str,
        dead_letter_limits: DeadLetterLimits,
        on_close: Callable[[RedisStreamsSubscription], None],
    ) -> None:
        self.topic = topic
        self._client = client
        self._keys = keys
        self._key = keys.topic(topic)
        self._last_id = last_id
        self._reader = reader
        self._dead_letter_limits = dead_letter_limits
        self._on_close = on_close
        self._buffer: deque[tuple[str, Mapping[Any, Any]]] = deque()
        # One reader at a time, or two getters would read the same entries after _last_id.
        self._reading = asyncio.Lock()

    async def get(self, timeout: float | None = None) -> Message | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        async with self._reading:
            while not self.closed:
                while self._buffer:
                    message = await self._validate(*self._buffer.popleft())
                    if message is not None:
                        return message
                remaining = None if deadline is None else deadline - loop.time()
                # Block in slices so that close() from another task ends a get(None).
                reply = await self._client.xread(
                    {self._key: self._last_id},
                    count=self._BATCH,
                    block=block_ms(remaining, self._ITERATION_POLL_SECONDS),
                )
                self._buffer.extend(stream_entries(reply))
                if self._buffer:
                    self._last_id = self._buffer[-1][0]
                elif remaining is not None and remaining <= 0:
                    return None
        return None

    async def _validate(self, entry_id: str, fields: Mapping[Any, Any]) -> Message | None:
        """The entry's message, or None after dead-lettering an entry that is not one."""
        data = fields.get(b"message", fields.get("message"))
        try:
            return decode_message(data, f"redis stream {self._key} entry {entry_id}")
        except InvalidMessageError as error:
            # Every subscriber sees the entry and records it: the reason names the reader.
            logger.warning("invalid topic entry dead-lettered", topic=self.topic, reason=str(error))
            await add_dead_letter(
                self._client,
                self._keys,
                self._dead_letter_limits,
                inbox=f"topic:{self.topic}",
                reason=f"{error} (seen by {self._reader})",
                raw=render_raw_entry(fields),
                attempts=1,
                delivery_id=entry_id,
            )
            return None

    async def close(self) -> None:
        self._on_close(self)
        await super().close()
