"""What only the Redis backend has: the key namespace, hash fields, foreign writers."""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import AsyncIterator

import pytest

from agentrig.core.state import Versioned, open_state_store
from agentrig.core.state.base import pop_url_option
from agentrig.exceptions import CorruptStateError, MissingExtraError

redis_asyncio = pytest.importorskip("redis.asyncio")
from agentrig.core.state.redis import RedisStateStore  # noqa: E402


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    server_url, _ = pop_url_option(redis_url, "prefix")
    client = redis_asyncio.Redis.from_url(server_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStateStore]:
    store = open_state_store(redis_url)
    assert isinstance(store, RedisStateStore)
    yield store
    await store.close()


async def test_documents_live_in_one_hash_under_the_namespace(
    store: RedisStateStore, client: redis_asyncio.Redis, redis_prefix: str
) -> None:
    await store.save("runs/1", {"n": 1})
    await store.save("runs/1", {"n": 2})
    fields = await client.hgetall(f"{redis_prefix}state:runs/1")
    assert fields == {
        b"v": b"2",
        b"d": b'{"n":2}',
        b"h": hashlib.sha1(b'{"n":2}', usedforsecurity=False).hexdigest().encode(),
    }


async def test_keys_sees_only_the_state_namespace(
    store: RedisStateStore, client: redis_asyncio.Redis, redis_prefix: str
) -> None:
    await store.save("a", {})
    await client.set(f"{redis_prefix}bus:inbox", "not state")  # the bus shares the prefix
    await client.set(f"{redis_prefix}statex", "not state either")
    await client.hset(f"{redis_prefix}state:ü", "v", "1")  # foreign, but in the namespace
    await client.hset(f"{redis_prefix}state:".encode() + b"\xff", "v", "1")  # no str names it
    assert await store.keys() == ["a", "ü"]


async def test_a_key_of_another_type_is_corrupt_and_kept(
    store: RedisStateStore, client: redis_asyncio.Redis, redis_prefix: str
) -> None:
    await client.rpush(f"{redis_prefix}state:k", "someone", "else")
    for attempt in (lambda: store.load("k"), lambda: store.save("k", {"n": 1})):
        with pytest.raises(CorruptStateError, match="holds a list"):
            await attempt()
    assert await client.lrange(f"{redis_prefix}state:k", 0, -1) == [b"someone", b"else"]


@pytest.mark.parametrize("version", ["0", "01", "1.0", " 1", "x", ""])
async def test_a_bad_version_field_is_corrupt_on_load_and_save(
    store: RedisStateStore, client: redis_asyncio.Redis, redis_prefix: str, version: str
) -> None:
    await store.save("k", {"n": 1})
    await client.hset(f"{redis_prefix}state:k", "v", version)
    for attempt in (lambda: store.load("k"), lambda: store.save("k", {"n": 2})):
        with pytest.raises(CorruptStateError, match="field v"):
            await attempt()
    assert await client.hget(f"{redis_prefix}state:k", "d") == b'{"n":1}'


async def test_a_hash_without_document_is_corrupt(
    store: RedisStateStore, client: redis_asyncio.Redis, redis_prefix: str
) -> None:
    await client.hset(f"{redis_prefix}state:k", "v", "3")
    for attempt in (lambda: store.load("k"), lambda: store.save("k", {"n": 1})):
        with pytest.raises(CorruptStateError, match="missing"):
            await attempt()


async def test_a_store_given_a_client_leaves_it_open(
    client: redis_asyncio.Redis, redis_prefix: str
) -> None:
    async with RedisStateStore(client, prefix=redis_prefix) as store:
        await store.save("k", {"n": 1})
    assert await client.ping() is True
    assert await client.hget(f"{redis_prefix}state:k", "v") == b"1"


async def test_missing_redis_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "agentrig.core.state.redis")
    with pytest.raises(MissingExtraError) as caught:
        importlib.import_module("agentrig.core.state.redis")
    assert caught.value.extra == "redis"
    assert "pip install 'agentrig[redis]'" in str(caught.value)
    with pytest.raises(MissingExtraError):
        open_state_store("redis://127.0.0.1:6379/15")


async def test_versions_survive_many_saves_exactly(store: RedisStateStore) -> None:
    for expected in range(1, 21):
        assert await store.save("k", {"n": expected}, expected_version=expected - 1) == expected
    assert await store.load("k") == Versioned({"n": 20}, 20)
