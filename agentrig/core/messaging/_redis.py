"""What the two Redis buses share: key names, the client from a URL, and the dead-letter stream.

Every key lives under the bus's prefix (``agentrig:`` unless the URL says ``?prefix=``)::

    {prefix}inbox:{agent_id}     a stream (Streams bus) or a channel (pub/sub bus)
    {prefix}topic:{topic}        likewise, for publish/subscribe
    {prefix}nacks:{agent_id}     hash: entry id -> the last nack reason (Streams bus)
    {prefix}dead-letters         stream of dead letters, both buses

A dead letter is one stream entry with the fields ``inbox``, ``reason``, ``attempts``,
``delivery_id``, ``dead_at`` (ISO 8601, UTC) and ``raw`` (the data as it was on the bus), so
``XRANGE {prefix}dead-letters - +`` in ``redis-cli`` shows them without agentrig.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentrig.exceptions import InvalidMessageError, MissingExtraError

try:
    import redis.asyncio as redis_asyncio
    from redis.connection import URL_QUERY_ARGUMENT_PARSERS
except ImportError as error:  # the 'redis' extra is optional
    raise MissingExtraError("the Redis message bus", "redis") from error

from agentrig.core.messaging.base import DeadLetter, decode_message

__all__ = [
    "CLIENT_URL_PARAMETERS",
    "RedisKeys",
    "add_dead_letter",
    "as_text",
    "block_ms",
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


async def add_dead_letter(
    client: redis_asyncio.Redis,
    keys: RedisKeys,
    *,
    inbox: str,
    reason: str,
    raw: str,
    attempts: int,
    delivery_id: str,
) -> str:
    """Append a dead letter; return its entry id (used by the pub/sub bus, which acks nothing)."""
    entry_id = await client.xadd(
        keys.dead_letters,
        {
            "inbox": inbox,
            "reason": reason,
            "attempts": attempts,
            "delivery_id": delivery_id,
            "dead_at": now_iso(),
            "raw": raw,
        },
    )
    return as_text(entry_id)


def _to_dead_letter(fields: Mapping[Any, Any]) -> DeadLetter:
    texts = {as_text(name): as_text(value) for name, value in fields.items()}
    raw = texts.get("raw", "")
    try:
        message = decode_message(raw, "dead letter")
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
