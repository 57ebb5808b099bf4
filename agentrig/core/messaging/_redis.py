"""What the two Redis buses share: key names, the client from a URL, and the dead-letter stream.

Every key lives under the bus's prefix (``agentrig:`` unless the URL says ``?prefix=``)::

    {prefix}inbox:{agent_id}     a stream (Streams bus) or a channel (pub/sub bus)
    {prefix}topic:{topic}        likewise, for publish/subscribe
    {prefix}nacks:{agent_id}     hash: entry id -> the last nack reason (Streams bus)
    {prefix}dead-letters         stream of dead letters, both buses

A dead letter is one stream entry with the fields ``inbox``, ``reason``, ``attempts``,
``delivery_id``, ``dead_at`` (ISO 8601, UTC) and ``raw`` (the data as it was on the bus), so
``XRANGE {prefix}dead-letters - +`` in ``redis-cli`` shows them without agentrig. The stream is
capped with ``XADD MAXLEN ~ dead_letter_maxlen``; a ``raw`` over ``dead_letter_max_bytes`` is cut
and marked, and its entry gets ``original_bytes`` and ``original_sha256`` fields too.

Opening: :func:`check_reachable` pings the server once, bounded in time, and turns a refused,
timed-out or rejected connection into :class:`~agentrig.exceptions.BackendUnavailableError`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from agentrig.exceptions import BackendUnavailableError, InvalidMessageError, MissingExtraError

try:
    import redis.asyncio as redis_asyncio
    from redis.connection import URL_QUERY_ARGUMENT_PARSERS
    from redis.exceptions import RedisError
    from redis.typing import EncodableT, FieldT
except ImportError as error:  # the 'redis' extra is optional
    raise MissingExtraError("the Redis message bus", "redis") from error

from agentrig.core.messaging.base import (
    DEFAULT_MAX_MESSAGE_BYTES,
    DeadLetter,
    DeadLetterLimits,
    MessageBusBase,
    decode_message,
    truncate_raw,
)

__all__ = [
    "CLIENT_URL_PARAMETERS",
    "REACHABLE_CHECK_SECONDS",
    "RedisBusBase",
    "RedisKeys",
    "add_dead_letter",
    "as_text",
    "block_ms",
    "check_reachable",
    "dead_letter_fields",
    "default_consumer_name",
    "now_iso",
    "read_dead_letters",
    "redis_asyncio",
    "render_raw_entry",
    "stream_batches",
    "stream_entries",
]

# Query parameters that go through to redis-py (timeouts, pool size, client_name, ...).
# "protocol" is left out on purpose: the buses parse RESP2 replies.
CLIENT_URL_PARAMETERS = (frozenset(URL_QUERY_ARGUMENT_PARSERS) | {"client_name"}) - {
    "protocol",
    "db",
}


REACHABLE_CHECK_SECONDS = 3.0
"""How long opening a Redis bus waits for the server's PING reply before it gives up."""


def describe_client(client: redis_asyncio.Redis) -> str:
    """A password-free URL of the server ``client`` talks to (for a client passed in directly)."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


async def check_reachable(client: redis_asyncio.Redis, url: str) -> None:
    """PING the server within :data:`REACHABLE_CHECK_SECONDS`.

    Raises:
        BackendUnavailableError: refused, timed out, or rejected (wrong password, ...), naming
            ``url`` and the cause in one line.
    """
    try:
        await asyncio.wait_for(client.ping(), REACHABLE_CHECK_SECONDS)
    except TimeoutError as error:
        raise BackendUnavailableError(
            url, f"no reply to PING within {REACHABLE_CHECK_SECONDS:g} s"
        ) from error
    except (RedisError, OSError) as error:
        reason = " ".join(str(error).split()).rstrip(".") or type(error).__name__
        raise BackendUnavailableError(url, reason) from error


class RedisBusBase(MessageBusBase):
    """What both Redis buses hold and do alike: the client, its URL, the key names, the dead
    letters, and the reachability check on ``async with``.

    Args:
        client: a ``redis.asyncio.Redis`` speaking RESP2 (the default protocol).
        prefix: namespace of every key and channel of the bus.
        max_message_bytes: largest encoded message ``send`` accepts.
        dead_letter_limits: how many dead letters, and how much of each payload, are kept.
        close_client: close ``client`` in ``close`` (``from_url`` sets it: it made the client).
        url: the server's URL for error messages, password redacted (default: from ``client``).
    """

    def __init__(
        self,
        client: redis_asyncio.Redis,
        *,
        prefix: str,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        dead_letter_limits: DeadLetterLimits | None = None,
        close_client: bool = False,
        url: str | None = None,
    ) -> None:
        super().__init__(max_message_bytes=max_message_bytes, dead_letter_limits=dead_letter_limits)
        self.client = client
        self.url = url or describe_client(client)
        self.keys = RedisKeys(prefix)
        self._close_client = close_client

    async def __aenter__(self) -> Self:
        """Check that the server answers: fail fast, with one clear line, when it does not.

        Raises:
            BackendUnavailableError: refused, timed out or rejected within a few seconds.
        """
        await check_reachable(self.client, self.url)
        return self

    async def dead_letters(self, inbox: str | None = None, limit: int = 100) -> list[DeadLetter]:
        return await read_dead_letters(self.client, self.keys, inbox, limit)

    async def add_dead_letter(
        self, *, inbox: str, reason: str, raw: str, attempts: int, delivery_id: str
    ) -> str:
        """Append a dead letter within the bus's limits; return its entry id."""
        return await add_dead_letter(
            self.client,
            self.keys,
            self.dead_letter_limits,
            inbox=inbox,
            reason=reason,
            raw=raw,
            attempts=attempts,
            delivery_id=delivery_id,
        )


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """The names of a bus's keys and channels under ``prefix``."""

    prefix: str

    def inbox(self, agent_id: str) -> str:
        return f"{self.prefix}inbox:{agent_id}"

    def topic(self, topic: str) -> str:
        return f"{self.prefix}topic:{topic}"

    def nacks(self, agent_id: str) -> str:
        return f"{self.prefix}nacks:{agent_id}"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}dead-letters"


def default_consumer_name() -> str:
    """``host-pid-random``: unique per bus object, readable in ``XINFO CONSUMERS``."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def as_text(value: bytes | str) -> str:
    """Redis replies are bytes unless the client decodes them; accept both."""
    return value.decode("utf-8", errors="backslashreplace") if isinstance(value, bytes) else value


def stream_entries(reply: Any) -> list[tuple[str, Mapping[Any, Any]]]:
    """The ``(id, fields)`` entries of an XREAD / XREADGROUP / XRANGE reply.

    Accepts the RESP2 shape ``[[stream, entries]]``, the RESP3 shape ``{stream: entries}`` and a
    bare entry list; a deleted entry (fields nil) comes back with empty fields.
    """
    if not reply:
        return []
    if isinstance(reply, dict):
        batches: list[Any] = list(reply.values())
    elif (
        isinstance(reply[0], (list, tuple)) and len(reply[0]) == 2 and isinstance(reply[0][1], list)
    ):
        batches = [entries for _stream, entries in reply]
    else:
        batches = [reply]
    return [
        (as_text(entry_id), fields or {}) for entries in batches for entry_id, fields in entries
    ]


def stream_batches(reply: Any) -> dict[str, list[tuple[str, Mapping[Any, Any]]]]:
    """The entries of an XREAD / XREADGROUP reply over several streams, by stream name."""
    if not reply:
        return {}
    pairs = reply.items() if isinstance(reply, dict) else reply
    return {as_text(stream): stream_entries(entries) for stream, entries in pairs}


def render_raw_entry(fields: Mapping[Any, Any]) -> str:
    """A stream entry's data as text for a dead letter: the message field alone when that is all
    there is, otherwise every field as a JSON object (nothing the writer put there is lost)."""
    texts = {as_text(name): as_text(value) for name, value in fields.items()}
    if list(texts) == ["message"]:
        return texts["message"]
    return json.dumps(texts, ensure_ascii=False)


def block_ms(remaining: float | None, slice_seconds: float) -> int | None:
    """The BLOCK argument of one blocking read: None (do not block) once the deadline has passed,
    else at least 1 ms (``BLOCK 0`` would mean forever) and at most ``slice_seconds``."""
    if remaining is not None and remaining <= 0:
        return None
    seconds = slice_seconds if remaining is None else min(remaining, slice_seconds)
    return max(1, round(seconds * 1000))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def dead_letter_fields(
    limits: DeadLetterLimits,
    *,
    inbox: str,
    reason: str,
    raw: str,
    attempts: int,
    delivery_id: str,
) -> dict[FieldT, EncodableT]:
    """The fields of a dead-letter entry, ``raw`` cut to ``limits.max_bytes`` (and marked)."""
    kept = truncate_raw(raw, limits.max_bytes)
    fields: dict[FieldT, EncodableT] = {
        "inbox": inbox,
        "reason": reason,
        "attempts": attempts,
        "delivery_id": delivery_id,
        "dead_at": now_iso(),
        "raw": kept.text,
    }
    if kept.original_bytes is not None and kept.original_sha256 is not None:
        fields["original_bytes"] = kept.original_bytes
        fields["original_sha256"] = kept.original_sha256
    return fields


async def add_dead_letter(
    client: redis_asyncio.Redis,
    keys: RedisKeys,
    limits: DeadLetterLimits,
    *,
    inbox: str,
    reason: str,
    raw: str,
    attempts: int,
    delivery_id: str,
) -> str:
    """Append a dead letter within ``limits``; return its entry id."""
    fields = dead_letter_fields(
        limits, inbox=inbox, reason=reason, raw=raw, attempts=attempts, delivery_id=delivery_id
    )
    entry_id = await client.xadd(
        keys.dead_letters,
        fields,
        maxlen=limits.maxlen,
        approximate=True,
    )
    return as_text(entry_id)


def _to_dead_letter(fields: Mapping[Any, Any]) -> DeadLetter:
    texts = {as_text(name): as_text(value) for name, value in fields.items()}
    raw = texts.get("raw", "")
    try:
        message = None if "original_bytes" in texts else decode_message(raw, "dead letter")
    except InvalidMessageError:
        message = None  # garbage that was dead-lettered as such: only the raw text exists
    return DeadLetter(
        inbox=texts.get("inbox", ""),
        reason=texts.get("reason", ""),
        raw=raw,
        message=message,
        attempts=int(texts.get("attempts", "0")),
        dead_at=datetime.fromisoformat(texts["dead_at"])
        if "dead_at" in texts
        else datetime.now(UTC),
        delivery_id=texts.get("delivery_id", ""),
        original_bytes=int(texts["original_bytes"]) if "original_bytes" in texts else None,
        original_sha256=texts.get("original_sha256"),
    )


async def read_dead_letters(
    client: redis_asyncio.Redis, keys: RedisKeys, inbox: str | None, limit: int
) -> list[DeadLetter]:
    """The oldest ``limit`` dead letters, optionally of one inbox (filtered page by page)."""
    letters: list[DeadLetter] = []
    start = "-"
    while len(letters) < limit:
        page = stream_entries(await client.xrange(keys.dead_letters, min=start, max="+", count=500))
        if not page:
            break
        for _entry_id, fields in page:
            letter = _to_dead_letter(fields)
            if inbox is None or letter.inbox == inbox:
                letters.append(letter)
                if len(letters) == limit:
                    break
        start = "(" + page[-1][0]
    return letters
