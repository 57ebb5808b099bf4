"""The in-process message bus: the default, and the test double users share.

It keeps the semantics of the durable Redis Streams bus so that code tested against it behaves the
same in production: messages travel as JSON text (encoded at send, validated at receive, so a
receiver never shares mutable state with the sender); a delivery not acknowledged within
``idle_timeout`` is delivered again; ``nack`` gives it back at once; after ``max_deliveries``
deliveries it moves to the dead letters with the reason. The dead letters keep exactly the last
``dead_letter_maxlen``, each payload cut at ``dead_letter_max_bytes`` like on Redis.

Everything lives in one process and one event loop: pass the bus object to every component that
must talk through it (each ``open_message_bus("memory://")`` is a new, empty bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from agentrig.core.messaging._url import parse_bus_url
from agentrig.core.messaging.base import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_MAX_MESSAGE_BYTES,
    DeadLetter,
    DeadLetterLimits,
    Delivery,
    MessageBusBase,
    SubscriptionBase,
    decode_message,
    truncate_raw,
)
from agentrig.core.messaging.message import Message
from agentrig.exceptions import ConfigurationError

__all__ = ["MemoryMessageBus", "MemorySubscription"]

logger = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Entry:
    delivery_id: str
    data: str
    deliveries: int = 0
    last_nack_reason: str | None = None
    delivered_at: float = 0.0


@dataclass(slots=True)
class _Inbox:
    ready: deque[_Entry] = field(default_factory=deque)
    pending: dict[str, _Entry] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class MemorySubscription(SubscriptionBase):
    """What is published on one topic of a :class:`MemoryMessageBus` after subscribing."""

    def __init__(self, bus: MemoryMessageBus, topic: str) -> None:
        self.topic = topic
        self._bus = bus
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()

    def _deliver(self, data: str) -> None:
        self._queue.put_nowait(data)

    async def get(self, timeout: float | None = None) -> Message | None:
        if self.closed and self._queue.empty():
            return None
        try:
            data = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if data is None:  # close() wakes a waiting get with None
            return None
        return decode_message(data, f"memory topic {self.topic}")

    async def close(self) -> None:
        if not self.closed:
            self._bus._unsubscribe(self)
            self._queue.put_nowait(None)
        await super().close()


class MemoryMessageBus(MessageBusBase):
    """In-process inboxes with ack, redelivery and dead letters, and topics.

    Args:
        idle_timeout: seconds after which an unacknowledged delivery is delivered again.
        max_deliveries: deliveries before a message is dead-lettered.
        max_message_bytes: the largest encoded message ``send`` accepts.
        dead_letter_limits: how many dead letters, and how much of each payload, are kept.
    """

    def __init__(
        self,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        dead_letter_limits: DeadLetterLimits | None = None,
    ) -> None:
        super().__init__(max_message_bytes=max_message_bytes, dead_letter_limits=dead_letter_limits)
        if idle_timeout <= 0 or max_deliveries < 1:
            raise ConfigurationError(
                "idle_timeout must be positive and max_deliveries at least 1, "
                f"not {idle_timeout} and {max_deliveries}"
            )
        self.idle_timeout = idle_timeout
        self.max_deliveries = max_deliveries
        self._inboxes: dict[str, _Inbox] = {}
        self._topics: dict[str, set[MemorySubscription]] = {}
        self._dead: deque[DeadLetter] = deque(maxlen=self.dead_letter_limits.maxlen)
        self._sequence = itertools.count(1)

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemoryMessageBus:
        """Build from ``memory://?idle_timeout_ms=...&max_deliveries=...&max_message_bytes=...
        &dead_letter_maxlen=...&dead_letter_max_bytes=...``."""
        options = parse_bus_url(url)
        return cls(
            idle_timeout=options.idle_timeout,
            max_deliveries=options.max_deliveries,
            max_message_bytes=options.max_message_bytes,
            dead_letter_limits=options.dead_letter_limits,
        )

    def _inbox(self, agent_id: str) -> _Inbox:
        inbox = self._inboxes.get(agent_id)
        if inbox is None:
            inbox = self._inboxes[agent_id] = _Inbox()
        return inbox

    async def send(self, message: Message) -> str:
        message, data = self.prepare(message)
        entry = _Entry(delivery_id=f"{next(self._sequence)}-0", data=data)
        inbox = self._inbox(message.recipient)
        async with inbox.changed:
            inbox.ready.append(entry)
            inbox.changed.notify()
        return entry.delivery_id

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        inbox = self._inbox(agent_id)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        async with inbox.changed:
            while True:
                delivery = self._take(agent_id, inbox, loop.time())
                if delivery is not None:
                    return delivery
                now = loop.time()
                wait = None if deadline is None else deadline - now
                if wait is not None and wait <= 0:
                    return None
                if inbox.pending:
                    # Wake up when the oldest pending delivery becomes due for redelivery.
                    due = min(e.delivered_at for e in inbox.pending.values()) + self.idle_timeout
                    wait = max(due - now, 0.0) if wait is None else min(wait, max(due - now, 0.0))
                with contextlib.suppress(TimeoutError):  # a timeout just means: look again
                    await asyncio.wait_for(inbox.changed.wait(), wait)

    def _take(self, agent_id: str, inbox: _Inbox, now: float) -> Delivery | None:
        """The next delivery for ``inbox``: overdue pending ones first, then ready ones."""
        overdue = [e for e in inbox.pending.values() if now - e.delivered_at >= self.idle_timeout]
        for entry in sorted(overdue, key=lambda e: e.delivered_at, reverse=True):
            del inbox.pending[entry.delivery_id]
            inbox.ready.appendleft(entry)
        while inbox.ready:
            entry = inbox.ready.popleft()
            if entry.deliveries >= self.max_deliveries:
                reason = f"not acknowledged after {entry.deliveries} deliveries"
                if entry.last_nack_reason:
                    reason += f"; last nack reason: {entry.last_nack_reason}"
                self._dead_letter(agent_id, entry, reason)
                continue
            entry.deliveries += 1
            entry.delivered_at = now
            inbox.pending[entry.delivery_id] = entry
            return Delivery(
                message=decode_message(entry.data, f"memory inbox {agent_id}"),
                inbox=agent_id,
                delivery_id=entry.delivery_id,
                attempt=entry.deliveries,
            )
        return None

    def _dead_letter(self, agent_id: str, entry: _Entry, reason: str) -> None:
        logger.warning(
            "message dead-lettered",
            inbox=agent_id,
            delivery_id=entry.delivery_id,
            attempts=entry.deliveries,
            reason=reason,
        )
        raw = truncate_raw(entry.data, self.dead_letter_limits.max_bytes)
        self._dead.append(  # a full deque drops the oldest: the count bound
            DeadLetter(
                inbox=agent_id,
                reason=reason,
                raw=raw.text,
                # A cut payload is no message any more; keeping the whole one would defeat the cut.
                message=None
                if raw.original_bytes is not None
                else decode_message(entry.data, f"memory inbox {agent_id}"),
                attempts=entry.deliveries,
                dead_at=datetime.now(UTC),
                delivery_id=entry.delivery_id,
                original_bytes=raw.original_bytes,
                original_sha256=raw.original_sha256,
            )
        )

    def _find(self, delivery: Delivery) -> tuple[_Inbox, _Entry | None]:
        inbox = self._inbox(delivery.inbox)
        entry = inbox.pending.get(delivery.delivery_id)
        if entry is None:
            # Redelivery may have put it back in the ready queue; an ack there still counts.
            entry = next((e for e in inbox.ready if e.delivery_id == delivery.delivery_id), None)
        return inbox, entry

    async def ack(self, delivery: Delivery) -> None:
        inbox, entry = self._find(delivery)
        if entry is None:
            logger.warning(
                "ack of a delivery that is not pending (already acked or dead-lettered)",
                inbox=delivery.inbox,
                delivery_id=delivery.delivery_id,
            )
            return
        if inbox.pending.pop(entry.delivery_id, None) is None:
            inbox.ready.remove(entry)

    async def nack(self, delivery: Delivery, reason: str) -> None:
        inbox, entry = self._find(delivery)
        if entry is None or entry.delivery_id not in inbox.pending:
            logger.warning(
                "nack of a delivery that is not pending (acked, dead-lettered or redelivered)",
                inbox=delivery.inbox,
                delivery_id=delivery.delivery_id,
            )
            return
        del inbox.pending[entry.delivery_id]
        if entry.deliveries >= self.max_deliveries:
            self._dead_letter(
                delivery.inbox, entry, f"nacked on delivery {entry.deliveries}: {reason}"
            )
            return
        entry.last_nack_reason = reason
        async with inbox.changed:
            inbox.ready.appendleft(entry)
            inbox.changed.notify()

    async def declare_inbox(self, agent_id: str) -> None:
        self._inbox(agent_id)

    async def release_inbox(self, agent_id: str) -> None:
        self._inboxes.pop(agent_id, None)

    async def publish(self, topic: str, message: Message) -> None:
        _, data = self.prepare(message)
        for subscription in self._topics.get(topic, ()):
            subscription._deliver(data)

    async def subscribe(self, topic: str) -> MemorySubscription:
        subscription = MemorySubscription(self, topic)
        self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def _unsubscribe(self, subscription: MemorySubscription) -> None:
        self._topics.get(subscription.topic, set()).discard(subscription)

    async def dead_letters(self, inbox: str | None = None, limit: int = 100) -> list[DeadLetter]:
        letters = [letter for letter in self._dead if inbox is None or letter.inbox == inbox]
        return letters[:limit]

    async def close(self) -> None:
        for subscriptions in list(self._topics.values()):
            for subscription in list(subscriptions):
                await subscription.close()
