"""The durable message bus: Redis Streams with consumer groups (``redis://`` and ``rediss://``).

Each inbox is a stream, ``{prefix}inbox:{agent_id}``, read by one consumer group (``group``); the
consumers of an agent share its messages, each message going to one of them. Delivery is
at-least-once:

- ``send`` is ``XADD``; ``receive`` is ``XREADGROUP ... BLOCK`` (the group is created on first
  receive from id 0, so messages sent before anyone listened are delivered, not lost); with
  ``prefetch`` > 1 one read takes up to that many entries and later receives hand them out,
  except those held longer than half the idle timeout, which are given back unharmed;
- ``ack`` is ``XACK`` + ``XDEL``: the stream only ever holds messages not yet processed;
- a delivery not acked within ``idle_timeout`` (its consumer died, or is stuck) is taken over by
  the next consumer that receives, with ``XAUTOCLAIM``; the attempt number is the pending entry's
  delivery count;
- ``nack(reason)`` records the reason and makes the entry claimable at once;
- after ``max_deliveries`` deliveries the entry moves to ``{prefix}dead-letters`` with the reason,
  and is acked off the inbox, atomically (a Lua script);
- an entry that is not a valid Message (someone else ``XADD``-ed garbage) is dead-lettered with
  the validation error and the consumer goes on to the next entry;
- ``declare_inbox`` creates the stream and its group up front; ``release_inbox`` deletes both (and
  the nack reasons), so a finished run leaves no inbox keys behind.

Under concurrency the bus shares round trips (``_batching``): the sends of many tasks go out as one
Lua call, their acks as another, the non-blocking reads of every inbox as one ``XREADGROUP``, all
in one pipeline. A lone caller pays one round trip per operation, as before.

Topics are streams too, ``{prefix}topic:{name}``, capped at about ``topic_maxlen`` entries: a
subscription reads with ``XREAD`` from the last entry that existed when it subscribed, so it sees
everything published after ``subscribe`` returned, even while it is not waiting in ``get``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any

import structlog

from agentrig.exceptions import MissingExtraError

try:
    import redis.asyncio as redis_asyncio
    from redis.exceptions import ResponseError
except ImportError as error:  # the 'redis' extra is optional
    raise MissingExtraError("the Redis message bus", "redis") from error

from agentrig.core.backends import redact_url
from agentrig.core.messaging import _streams_lua as lua
from agentrig.core.messaging._batching import CommandBatcher, GroupReadBatcher, ScriptBatcher
from agentrig.core.messaging._redis import (
    CLIENT_URL_PARAMETERS,
    RedisBusBase,
    as_text,
    block_ms,
    dead_letter_fields,
    default_consumer_name,
    render_raw_entry,
    stream_entries,
)
from agentrig.core.messaging._streams_topics import RedisStreamsSubscription
from agentrig.core.messaging._url import (
    DEFAULT_GROUP,
    DEFAULT_PREFIX,
    DEFAULT_TOPIC_MAXLEN,
    parse_bus_url,
)
from agentrig.core.messaging.base import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_MESSAGE_BYTES,
    DeadLetterLimits,
    Delivery,
    decode_message,
)
from agentrig.core.messaging.message import Message
from agentrig.exceptions import ConfigurationError, InvalidMessageError

__all__ = ["RedisStreamsMessageBus", "RedisStreamsSubscription"]

logger = structlog.get_logger(__name__)


class RedisStreamsMessageBus(RedisBusBase):
    """Durable inboxes on Redis Streams: at-least-once, redelivery, dead letters; stream topics.

    Args:
        client: a ``redis.asyncio.Redis`` speaking RESP2 (the default protocol).
        prefix: namespace of every key this bus touches.
        group: the consumer group that reads each inbox stream.
        consumer: this bus's consumer name in the group; unique by default.
        idle_timeout: seconds before an unacknowledged delivery may go to another consumer. Longer
            than the slowest handler, or messages get processed twice.
        max_deliveries: deliveries before a message moves to the dead letters.
        max_message_bytes: largest encoded message ``send`` accepts.
        topic_maxlen: about how many entries a topic stream keeps (``XADD MAXLEN ~``).
        prefetch: entries one read may take for later receives. 1 (the default) shares an inbox
            fairly among its consumers; more saves round trips when one consumer drains a backlog.
        dead_letter_limits, close_client, url: as in :class:`RedisBusBase`.
    """

    def __init__(
        self,
        client: redis_asyncio.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        topic_maxlen: int = DEFAULT_TOPIC_MAXLEN,
        prefetch: int = 1,
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
        if idle_timeout <= 0 or max_deliveries < 1 or prefetch < 1:
            raise ConfigurationError(
                "idle_timeout must be positive, max_deliveries and prefetch at least 1, "
                f"not {idle_timeout}, {max_deliveries} and {prefetch}"
            )
        self.group = group
        self.consumer = consumer or default_consumer_name()
        self.idle_timeout = idle_timeout
        self.max_deliveries = max_deliveries
        self.topic_maxlen = topic_maxlen
        self.prefetch = prefetch
        self._batcher = CommandBatcher(client)
        self._reads = GroupReadBatcher(
            self._batcher,
            group=group,
            consumer=self.consumer,
            count=prefetch,
            deposit=self._deposit,
        )
        # Entries read but not handed out yet, per inbox stream: (entry id, fields, loop time read).
        self._read: dict[str, deque[tuple[str, Mapping[Any, Any], float]]] = {}
        self._idle_ms = max(1, round(idle_timeout * 1000))
        # How often a receiving consumer looks for deliveries to take over.
        self._claim_interval = max(idle_timeout / 2, 0.01)
        self._next_claim_at: dict[str, float] = {}  # per inbox stream, in loop time
        self._groups_ready: set[str] = set()
        self._subscriptions: set[RedisStreamsSubscription] = set()
        self._claim = client.register_script(lua.CLAIM)
        self._dead_letter_script = client.register_script(lua.DEAD_LETTER)
        self._nack = client.register_script(lua.NACK)
        self._release = client.register_script(lua.RELEASE)
        self._sends = ScriptBatcher(
            self._batcher, client.register_script(lua.SEND_MANY), keys_per_item=1, args_per_item=1
        )
        self._acks = ScriptBatcher(
            self._batcher,
            client.register_script(lua.ACK_MANY),
            keys_per_item=2,
            args_per_item=1,
            shared_args=[group],
        )

    @classmethod
    def from_url(cls, url: str) -> RedisStreamsMessageBus:
        """Build from ``redis://host:port/db?prefix=&group=&consumer=&idle_timeout_ms=&
        max_deliveries=&max_message_bytes=&topic_maxlen=&prefetch=&dead_letter_maxlen=&
        dead_letter_max_bytes=`` (plus redis-py's own parameters such as
        ``socket_connect_timeout``). ``rediss://`` uses TLS. Connects lazily; ``async with``
        checks the server is reachable.

        Raises:
            ConfigurationError: an unknown parameter or a value that does not parse.
        """
        options = parse_bus_url(url, client_parameters=CLIENT_URL_PARAMETERS)
        return cls(
            redis_asyncio.Redis.from_url(options.client_url),
            prefix=options.prefix,
            group=options.group,
            consumer=options.consumer,
            idle_timeout=options.idle_timeout,
            max_deliveries=options.max_deliveries,
            max_message_bytes=options.max_message_bytes,
            topic_maxlen=options.topic_maxlen,
            prefetch=options.prefetch,
            dead_letter_limits=options.dead_letter_limits,
            close_client=True,
            url=redact_url(url),
        )

    # ---------------------------------------------------------------- point to point

    async def send(self, message: Message) -> str:
        message, data = self.prepare(message)
        entry_id = await self._sends.run([self.keys.inbox(message.recipient)], [data])
        return as_text(entry_id)

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        stream = self.keys.inbox(agent_id)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        await self._ensure_group(stream)
        read = self._read.setdefault(stream, deque())
        while True:
            # Before any takeover: an entry we read ahead and held too long must be given back
            # as never delivered (attempt 1), not taken over from ourselves as a redelivery.
            await self._give_back_stale(stream, read)
            if loop.time() >= self._next_claim_at.get(stream, 0.0):
                delivery = await self._take_over(agent_id, stream)
                if delivery is not None:
                    return delivery
            delivery = await self._hand_out(agent_id, stream, read)
            if delivery is not None:
                return delivery
            remaining = None if deadline is None else deadline - loop.time()
            until_claim = max(self._next_claim_at[stream] - loop.time(), 0.001)
            await self._read_new(stream, block_ms(remaining, until_claim))
            if not read and deadline is not None and loop.time() >= deadline:
                # Also true after the final non-blocking read (remaining <= 0).
                return None

    async def _give_back_stale(
        self, stream: str, read: deque[tuple[str, Mapping[Any, Any], float]]
    ) -> None:
        """Give back read-ahead entries held over half the idle timeout: a handler given one
        now would have too little time before another consumer takes it over."""
        too_old = asyncio.get_running_loop().time() - self.idle_timeout / 2
        stale = []
        while read and read[0][2] < too_old:  # oldest first: entries are kept in read order
            stale.append(read.popleft()[0])
        if stale:
            await self._give_back(stream, stale)

    async def _hand_out(
        self, agent_id: str, stream: str, read: deque[tuple[str, Mapping[Any, Any], float]]
    ) -> Delivery | None:
        """The next valid read-ahead entry (invalid ones are dead-lettered on the way)."""
        while read:
            entry_id, fields, _ = read.popleft()
            delivery = await self._accept(agent_id, stream, entry_id, fields, attempt=1)
            if delivery is not None:
                return delivery
        return None

    async def _give_back(self, stream: str, entry_ids: list[str]) -> None:
        await self._release(
            keys=[stream], args=[self.group, self.consumer, lua.LONG_AGO_MS, *entry_ids]
        )
        self._next_claim_at[stream] = 0.0  # claimable now: the next receive takes them

    async def _ensure_group(self, stream: str) -> None:
        if stream in self._groups_ready:
            return
        try:
            # From id 0, not "$": what was sent before the first receive is delivered too.
            await self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups_ready.add(stream)

    def _deposit(self, stream: str, entries: list[tuple[str, Mapping[Any, Any]]]) -> None:
        now = asyncio.get_running_loop().time()
        read = self._read.setdefault(stream, deque())
        read.extend((entry_id, fields, now) for entry_id, fields in entries)

    async def _read_new(self, stream: str, block: int | None) -> None:
        """Read new entries into ``self._read[stream]``, blocking up to ``block`` ms if none."""
        try:
            # First a read that does not block, merged with the other receivers' (one command
            # for every inbox) and sent with the sends and acks: under load there is something
            # to read. Only an empty inbox costs a blocking read of its own.
            await self._reads.read(stream)
            if not self._read[stream] and block is not None:
                reply = await self.client.xreadgroup(
                    self.group, self.consumer, {stream: ">"}, count=self.prefetch, block=block
                )
                self._deposit(stream, stream_entries(reply))
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # The stream was deleted under us (DEL, FLUSHDB): recreate the group and read again.
            # (A merged read fails for every inbox in it; each receiver repairs its own.)
            self._groups_ready.discard(stream)
            await self._ensure_group(stream)

    async def _take_over(self, agent_id: str, stream: str) -> Delivery | None:
        """Claim a delivery idle past the timeout, dead-lettering those delivered too often."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                result = await self._claim(
                    keys=[stream, self.keys.nacks(agent_id)],
                    args=[self.group, self.consumer, self._idle_ms],
                )
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                self._groups_ready.discard(stream)
                await self._ensure_group(stream)
                result = None
            if not result:
                self._next_claim_at[stream] = loop.time() + self._claim_interval
                return None
            # Something was overdue; there may be more, so look again on the next receive.
            self._next_claim_at[stream] = 0.0
            raw_id, flat_fields, count, last_reason = result
            entry_id = as_text(raw_id)
            fields = dict(zip(flat_fields[::2], flat_fields[1::2], strict=True))
            if count > self.max_deliveries:
                reason = f"not acknowledged after {count - 1} deliveries"
                if last_reason:
                    reason += f"; last nack reason: {as_text(last_reason)}"
                await self._dead_letter(
                    agent_id, entry_id, render_raw_entry(fields), count - 1, reason
                )
                continue
            delivery = await self._accept(agent_id, stream, entry_id, fields, attempt=int(count))
            if delivery is not None:
                return delivery

    async def _accept(
        self, agent_id: str, stream: str, entry_id: str, fields: Mapping[Any, Any], attempt: int
    ) -> Delivery | None:
        """The delivery of a valid entry; an invalid one is dead-lettered (None)."""
        data = fields.get(b"message", fields.get("message"))
        try:
            message = decode_message(data, f"redis stream {stream} entry {entry_id}")
        except InvalidMessageError as error:
            await self._dead_letter(
                agent_id, entry_id, render_raw_entry(fields), attempt, str(error)
            )
            return None
        return Delivery(message=message, inbox=agent_id, delivery_id=entry_id, attempt=attempt)

    async def _dead_letter(
        self, agent_id: str, entry_id: str, raw: str, attempts: int, reason: str
    ) -> None:
        logger.warning(
            "message dead-lettered",
            inbox=agent_id,
            delivery_id=entry_id,
            attempts=attempts,
            reason=reason,
        )
        fields = dead_letter_fields(
            self.dead_letter_limits,
            inbox=agent_id,
            reason=reason,
            raw=raw,
            attempts=attempts,
            delivery_id=entry_id,
        )
        await self._dead_letter_script(
            keys=[self.keys.inbox(agent_id), self.keys.dead_letters, self.keys.nacks(agent_id)],
            args=[
                self.group,
                entry_id,
                self.dead_letter_limits.maxlen,
                *(item for pair in fields.items() for item in pair),
            ],
        )

    async def ack(self, delivery: Delivery) -> None:
        acked = await self._acks.run(
            [self.keys.inbox(delivery.inbox), self.keys.nacks(delivery.inbox)],
            [delivery.delivery_id],
        )
        if not acked:
            logger.warning(
                "ack of a delivery that is not pending (already acked or dead-lettered)",
                inbox=delivery.inbox,
                delivery_id=delivery.delivery_id,
            )

    async def nack(self, delivery: Delivery, reason: str) -> None:
        if delivery.attempt >= self.max_deliveries:
            await self._dead_letter(
                delivery.inbox,
                delivery.delivery_id,
                delivery.message.model_dump_json(),
                delivery.attempt,
                f"nacked on delivery {delivery.attempt}: {reason}",
            )
            return
        claimed = await self._nack(
            keys=[self.keys.inbox(delivery.inbox), self.keys.nacks(delivery.inbox)],
            args=[self.group, self.consumer, delivery.delivery_id, reason, lua.LONG_AGO_MS],
        )
        if not claimed:
            logger.warning(
                "nack of a delivery that is not pending (already acked or dead-lettered)",
                inbox=delivery.inbox,
                delivery_id=delivery.delivery_id,
            )
        self._next_claim_at[self.keys.inbox(delivery.inbox)] = 0.0

    # ---------------------------------------------------------------- inbox lifetime

    async def declare_inbox(self, agent_id: str) -> None:
        await self._ensure_group(self.keys.inbox(agent_id))

    async def release_inbox(self, agent_id: str) -> None:
        stream = self.keys.inbox(agent_id)
        # Deleting the stream deletes its consumer group too; a consumer elsewhere that still
        # reads it gets NOGROUP and recreates both (see _read_new), as after a FLUSHDB.
        await self.client.delete(stream, self.keys.nacks(agent_id))
        self._groups_ready.discard(stream)
        self._read.pop(stream, None)
        self._next_claim_at.pop(stream, None)

    # ---------------------------------------------------------------- topics

    async def publish(self, topic: str, message: Message) -> None:
        _, data = self.prepare(message)
        await self.client.xadd(
            self.keys.topic(topic), {"message": data}, maxlen=self.topic_maxlen, approximate=True
        )

    async def subscribe(self, topic: str) -> RedisStreamsSubscription:
        latest = stream_entries(await self.client.xrevrange(self.keys.topic(topic), count=1))
        subscription = RedisStreamsSubscription(
            self.client,
            self.keys,
            topic,
            latest[0][0] if latest else "0-0",
            reader=self.consumer,
            dead_letter_limits=self.dead_letter_limits,
            on_close=self._subscriptions.discard,
        )
        self._subscriptions.add(subscription)
        return subscription

    # ---------------------------------------------------------------- dead letters, lifecycle

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
        self._subscriptions.clear()
        for stream, read in self._read.items():
            if read:  # read ahead but never handed out: others may take them at once
                await self._give_back(stream, [entry[0] for entry in read])
        self._read.clear()
        await self._sends.drain()
        await self._acks.drain()
        await self._batcher.drain()
        if self._close_client:
            await self.client.aclose()
