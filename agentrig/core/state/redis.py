"""The Redis state store: ``redis://host:port/db?prefix=agentrig:`` (or ``rediss://``).

Each key is one hash, ``<prefix>state:<key>``, with two fields: ``v`` (the version) and ``d``
(the JSON document). ``prefix`` is the agentrig namespace in the Redis database, which the
message bus shares under its own sub-namespace.

A save runs a Lua script, so the version check and the write are one atomic step on the server
whatever the number of clients. The script also checks that what it would replace is a valid
document (``cjson``): a hash someone filled with garbage is reported as :class:`CorruptStateError`
and left as it is. A load is one ``HMGET``; ``keys()`` walks ``SCAN`` under the namespace.

``from_url`` builds a client on a blocking connection pool of 32 connections (``max_connections``
in the URL changes it): tasks beyond it wait for a free connection instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import BaseModel

from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_stored_document,
    encode_document,
    pop_url_option,
    validate_key,
)
from agentrig.exceptions import CorruptStateError, MissingExtraError, VersionConflict

try:
    import redis.asyncio as aioredis
    from redis.exceptions import ResponseError
except ImportError as error:
    raise MissingExtraError("the Redis state store", "redis") from error

__all__ = ["DEFAULT_PREFIX", "RedisStateStore"]

DEFAULT_PREFIX = "agentrig:"
DEFAULT_MAX_CONNECTIONS = 32
_GLOB_SPECIALS = frozenset("*?[]\\")

log = structlog.get_logger(__name__)

# KEYS[1]: the hash. ARGV[1]: the new document; ARGV[2]: the expected version, "" for none.
# Returns {"ok", new_version} | {"conflict", current_version} | {"corrupt", reason}.
_SAVE_SCRIPT = """
local kind = redis.call('TYPE', KEYS[1]).ok
local current = 0
if kind == 'hash' then
    local fields = redis.call('HMGET', KEYS[1], 'v', 'd')
    local version = tonumber(fields[1])
    if not version or version < 1 or version ~= math.floor(version) then
        return {'corrupt', 'field v is ' .. tostring(fields[1]) .. ', not an int >= 1'}
    end
    if not fields[2] then
        return {'corrupt', 'field d (the document) is missing'}
    end
    local parsed, decoded = pcall(cjson.decode, fields[2])
    if not parsed or type(decoded) ~= 'table' or not string.find(fields[2], '^%s*{') then
        return {'corrupt', 'field d is not a JSON object'}
    end
    current = version
elseif kind ~= 'none' then
    return {'corrupt', 'the key holds a ' .. kind .. ', not a hash'}
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= current then
    return {'conflict', current}
end
redis.call('HSET', KEYS[1], 'v', string.format('%d', current + 1), 'd', ARGV[1])
return {'ok', current + 1}
"""


def _text(value: bytes | str) -> str:
    # Replies are bytes unless the caller's client was built with decode_responses=True.
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _glob_escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in _GLOB_SPECIALS else ch for ch in text)


class RedisStateStore(StateStoreBase):
    """Versioned JSON documents in Redis hashes; compare-and-set atomic on the server.

    Args:
        client: a ``redis.asyncio.Redis``; the store closes it only if ``from_url`` made it.
        prefix: the agentrig namespace; state keys live under ``<prefix>state:``.
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self.namespace = f"{prefix}state:"
        self._owns_client = False
        self._save_script = client.register_script(_SAVE_SCRIPT)

    @classmethod
    def from_url(cls, url: str) -> RedisStateStore:
        """Build from ``redis://host:port/db?prefix=...`` on a pool of 32 connections.

        Connections open on first use. Other query parameters go to redis-py.
        """
        url, prefix = pop_url_option(url, "prefix")
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=DEFAULT_MAX_CONNECTIONS
        )
        store = cls(aioredis.Redis.from_pool(pool), prefix=prefix or DEFAULT_PREFIX)
        store._owns_client = True
        return store

    def redis_key(self, key: str) -> str:
        """The Redis key of the hash holding ``key``."""
        return self.namespace + key

    def _location(self, key: str) -> str:
        return f"Redis hash {self.redis_key(key)!r} (fields v, d)"

    async def load(self, key: str) -> Versioned | None:
        self._ensure_open()
        validate_key(key)
        try:
            version, document = await self.client.hmget(self.redis_key(key), ["v", "d"])
        except ResponseError as error:
            if "WRONGTYPE" not in str(error):
                raise
            kind = await self.client.type(self.redis_key(key))
            raise CorruptStateError(
                key, self._location(key), f"the key holds a {kind!r}, not a hash"
            ) from error
        if version is None and document is None:
            return None
        try:
            number = 0 if version is None else int(version)
        except ValueError:
            number = 0
        if number < 1:
            raise CorruptStateError(key, self._location(key), f"field v is {version!r}")
        if document is None:
            raise CorruptStateError(key, self._location(key), "field d (the document) is missing")
        return Versioned(decode_stored_document(key, self._location(key), document), number)

    async def save(
        self,
        key: str,
        state: Mapping[str, Any] | BaseModel,
        expected_version: int | None = None,
    ) -> int:
        self._ensure_open()
        validate_key(key)
        text = encode_document(key, state)
        expected = "" if expected_version is None else str(expected_version)
        outcome, detail = await self._save_script(keys=[self.redis_key(key)], args=[text, expected])
        outcome = _text(outcome)
        if outcome == "ok":
            return int(detail)
        if outcome == "conflict":
            raise VersionConflict(key, int(expected), int(detail))
        raise CorruptStateError(key, self._location(key), _text(detail))

    async def delete(self, key: str) -> bool:
        self._ensure_open()
        validate_key(key)
        return bool(await self.client.delete(self.redis_key(key)))

    async def keys(self, prefix: str = "") -> list[str]:
        self._ensure_open()
        pattern = _glob_escape(self.namespace + prefix) + "*"
        start = len(self.namespace)
        found: list[str] = []
        async for name in self.client.scan_iter(match=pattern, count=1000):
            try:
                found.append(_text(name)[start:])
            except UnicodeDecodeError:
                # Written by something else: no str can name it, so load() could not reach it.
                log.warning("state key is not UTF-8; skipped", redis_key=name)
        return sorted(found)

    async def close(self) -> None:
        if not self._closed and self._owns_client:
            await self.client.aclose()
        await super().close()
