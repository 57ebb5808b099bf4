"""The Redis state store: ``redis://host:port/db?prefix=agentrig:`` (or ``rediss://``).

Each key is one hash, ``<prefix>state:<key>``, with three fields: ``v`` (the version), ``d`` (the
JSON document) and ``h`` (the SHA-1 of ``d`` as this store wrote it). ``prefix`` is the agentrig
namespace in the Redis database, which the message bus shares under its own sub-namespace.

A save runs a Lua script, so the version check and the write are one atomic step on the server
whatever the number of clients. Before replacing a document the script checks that ``d`` still
hashes to ``h``. If it does not -- someone else wrote that hash -- the script writes nothing and
the client validates the stored document with exactly the rules ``load`` applies: garbage is
reported as :class:`CorruptStateError` and left as it is; a valid document (repaired by hand, say)
is replaced by running the script again with the digest of what was checked. Redis's own ``cjson``
is not the judge because it accepts what Python's JSON reader refuses (``NaN``, ``0x10``, raw
control characters, invalid UTF-8). A load is one ``HMGET``; ``keys()`` walks ``SCAN`` under the
namespace.

``from_url`` builds a client on a blocking connection pool of 32 connections (``max_connections``
in the URL changes it): tasks beyond it wait for a free connection instead of failing.

A server that cannot be reached (refused, timed out, refusing the password) fails the call with
:class:`BackendUnavailableError` naming the server (no password) and the cause in one line,
instead of redis-py's ``ConnectionError`` and its traceback. redis-py connects with a 5 s
timeout (``socket_connect_timeout=`` in the URL changes it).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from agentrig.core.backends import one_line, redact_url
from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_stored_document,
    pop_url_option,
)
from agentrig.exceptions import (
    BackendUnavailableError,
    CorruptStateError,
    MissingExtraError,
    StateError,
    VersionConflict,
)

try:
    import redis.asyncio as aioredis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as error:
    raise MissingExtraError("the Redis state store", "redis") from error

__all__ = ["DEFAULT_PREFIX", "RedisStateStore"]

DEFAULT_PREFIX = "agentrig:"
DEFAULT_MAX_CONNECTIONS = 32
_GLOB_SPECIALS = frozenset("*?[]\\")

log = structlog.get_logger(__name__)

# KEYS[1]: the hash. ARGV[1]: the new document; ARGV[2]: the expected version, "" for none;
# ARGV[3]: the SHA-1 of a stored document the client has validated, "" for none.
# Returns {"ok", new_version} | {"conflict", current_version} | {"corrupt", reason}
#       | {"unverified", ""} (the stored document is not one this store wrote: validate it first).
_SAVE_SCRIPT = """
local kind = redis.call('TYPE', KEYS[1]).ok
local current = 0
if kind == 'hash' then
    local fields = redis.call('HMGET', KEYS[1], 'v', 'd', 'h')
    if not fields[1] or not string.find(fields[1], '^[1-9]%d*$') then
        return {'corrupt', 'field v is ' .. (fields[1] or 'missing') .. ', not an int >= 1'}
    end
    if not fields[2] then
        return {'corrupt', 'field d (the document) is missing'}
    end
    local digest = redis.sha1hex(fields[2])
    if digest ~= fields[3] and digest ~= ARGV[3] then
        return {'unverified', ''}
    end
    current = tonumber(fields[1])
elseif kind ~= 'none' then
    return {'corrupt', 'the key holds a ' .. kind .. ', not a hash'}
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= current then
    return {'conflict', current}
end
redis.call('HSET', KEYS[1], 'v', string.format('%d', current + 1), 'd', ARGV[1],
           'h', redis.sha1hex(ARGV[1]))
return {'ok', current + 1}
"""
_MAX_VERIFY_ROUNDS = 5  # each round means a foreign writer changed the hash meanwhile


def _text(value: bytes | str) -> str:
    # Replies are bytes unless the caller's client was built with decode_responses=True.
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _failure_reason(error: RedisConnectionError | RedisTimeoutError) -> str:
    """The cause in one line: "Connection refused" rather than redis-py's "Error 111 ..."."""
    cause = error.__context__
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return one_line(error)


def _client_url(client: aioredis.Redis) -> str:
    """A URL naming the server a client talks to, for error messages (no password)."""
    settings = client.connection_pool.connection_kwargs
    if "path" in settings:
        return f"unix://{settings['path']}?db={settings.get('db', 0)}"
    return f"redis://{settings.get('host', 'localhost')}:{settings.get('port', 6379)}/" + str(
        settings.get("db", 0)
    )


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
        self.url = _client_url(client)
        """The server, for error messages: the URL given to ``from_url``, its password hidden."""

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
        store.url = redact_url(url)
        return store

    @contextmanager
    def _reaching_the_server(self) -> Iterator[None]:
        """Turn redis-py's connection failures into one typed error naming the server."""
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise BackendUnavailableError(self.url, _failure_reason(error)) from error

    def redis_key(self, key: str) -> str:
        """The Redis key of the hash holding ``key``."""
        return self.namespace + key

    def _location(self, key: str) -> str:
        return f"Redis hash {self.redis_key(key)!r} (fields v, d)"

    def location_of(self, key: str) -> str:
        return self._location(key)

    async def _load(self, key: str) -> Versioned | None:
        with self._reaching_the_server():
            try:
                version, document = await self.client.hmget(self.redis_key(key), ["v", "d"])
            except ResponseError as error:
                if "WRONGTYPE" not in str(error):
                    raise
                kind = await self.client.type(self.redis_key(key))
                raise CorruptStateError(
                    key, self._location(key), f"the key holds a {_text(kind)}, not a hash"
                ) from error
            if version is None and document is None:
                return None
            return self._check(key, version, document)

    def _check(
        self, key: str, version: bytes | str | None, document: bytes | str | None
    ) -> Versioned:
        """Validate a hash's fields by the same rules as the save script (and then some)."""
        if isinstance(version, bytes):
            version_text = version.decode("ascii", "replace")
        else:
            version_text = version or ""
        # The script's pattern ^[1-9]%d*$, so that load and save agree on what is corrupt.
        if not (version_text.isascii() and version_text.isdigit() and version_text[0] != "0"):
            raise CorruptStateError(
                key, self._location(key), f"field v is {version!r}, not an int >= 1"
            )
        if document is None:
            raise CorruptStateError(key, self._location(key), "field d (the document) is missing")
        state = decode_stored_document(key, self._location(key), document)
        return Versioned(state, int(version_text))

    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        with self._reaching_the_server():
            expected = "" if expected_version is None else str(expected_version)
            checked = ""
            for _ in range(_MAX_VERIFY_ROUNDS):
                outcome, detail = await self._save_script(
                    keys=[self.redis_key(key)], args=[text, expected, checked]
                )
                outcome = _text(outcome)
                if outcome == "ok":
                    return int(detail)
                if outcome == "conflict":
                    raise VersionConflict(key, int(expected), int(detail))
                if outcome == "corrupt":
                    raise CorruptStateError(key, self._location(key), _text(detail))
                checked = await self._validate_foreign_document(key)
            raise StateError(
                f"could not save {key!r}: its Redis hash {self.redis_key(key)!r} kept being changed "
                "by something other than this store"
            )

    async def _validate_foreign_document(self, key: str) -> str:
        """Check a document this store did not write; return its SHA-1, or raise if corrupt."""
        version, document = await self.client.hmget(self.redis_key(key), ["v", "d"])
        if version is None and document is None:
            return ""  # deleted meanwhile: the script will find no hash
        self._check(key, version, document)  # raises CorruptStateError on garbage
        raw = document.encode("utf-8") if isinstance(document, str) else document or b""
        return hashlib.sha1(raw, usedforsecurity=False).hexdigest()

    async def _delete(self, key: str) -> bool:
        with self._reaching_the_server():
            return bool(await self.client.delete(self.redis_key(key)))

    async def _keys(self, prefix: str) -> list[str]:
        with self._reaching_the_server():
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
        if self._closed:
            return
        await super().close()  # refuse new calls before the client goes
        if self._owns_client:
            await self.client.aclose()
