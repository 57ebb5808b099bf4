"""open_state_store: the URL picks the backend, its options reach it, and bad URLs say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentrig.core.state import DEFAULT_STATE_URL, StateStore, open_state_store
from agentrig.core.state.file import FileStateStore
from agentrig.core.state.memory import MemoryStateStore
from agentrig.core.state.sqlite import SqliteStateStore
from agentrig.exceptions import ConfigurationError


async def test_memory_url() -> None:
    async with open_state_store("memory://") as store:
        assert type(store) is MemoryStateStore
        assert isinstance(store, StateStore)


async def test_file_url_absolute_and_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_state_store(f"file://{tmp_path}/with%20space") as store:
        assert type(store) is FileStateStore
        assert store.root == tmp_path / "with space"
        await store.save("k", {"n": 1})
    assert (tmp_path / "with space" / "k.json").is_file()
    monkeypatch.chdir(tmp_path)
    async with open_state_store("file:relative/dir") as relative:
        assert type(relative) is FileStateStore
        assert relative.root == tmp_path / "relative" / "dir"


@pytest.mark.parametrize("url", ["file://somehost/dir", "file://"])
def test_file_url_with_a_host_or_no_path_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="file"):
        open_state_store(url)


async def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with open_state_store(f"sqlite:///{tmp_path}/abs.db") as absolute:
        assert type(absolute) is SqliteStateStore
        assert absolute.path == tmp_path / "abs.db"
        assert absolute.synchronous == "normal"
    monkeypatch.chdir(tmp_path)
    async with open_state_store("sqlite:///nested/rel.db?synchronous=FULL") as relative:
        assert type(relative) is SqliteStateStore
        assert relative.path == tmp_path / "nested" / "rel.db"
        assert relative.synchronous == "full"
        await relative.save("k", {"n": 1})  # the folder is created on first use
    assert (tmp_path / "nested" / "rel.db").is_file()


async def test_the_default_url_is_sqlite_and_connects_lazily(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_state_store(DEFAULT_STATE_URL) as store:
        assert type(store) is SqliteStateStore
        assert store.path == tmp_path / "agentrig-state.db"
        assert not store.path.exists()  # nothing is opened before first use
        assert await store.keys() == []
        assert store.path.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/x.db", "sqlite:///relative/path"),
        ("sqlite:///", "sqlite:///relative/path"),
        ("sqlite:///x.db?synchronous=sometimes", "synchronous must be"),
        ("sqlite:///x.db?journal=off", "unknown option"),
        ("sqlite:///:memory:", "memory://"),
    ],
)
def test_bad_sqlite_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_state_store(url)


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
async def test_redis_urls_honour_prefix(scheme: str) -> None:
    from agentrig.core.state.redis import DEFAULT_PREFIX, RedisStateStore

    async with open_state_store(f"{scheme}://127.0.0.1:1/15?prefix=team-a:") as store:
        assert type(store) is RedisStateStore
        assert store.prefix == "team-a:"
        assert store.redis_key("x/y") == "team-a:state:x/y"
        assert store.client.connection_pool.max_connections == 32
    async with open_state_store(f"{scheme}://127.0.0.1:1/15") as default:
        assert type(default) is RedisStateStore
        assert default.prefix == DEFAULT_PREFIX


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
async def test_postgres_urls_honour_schema(scheme: str) -> None:
    from agentrig.core.state.postgres import DEFAULT_SCHEMA, PostgresStateStore

    async with open_state_store(f"{scheme}://u@127.0.0.1:1/db?schema=team_a") as store:
        assert type(store) is PostgresStateStore
        assert store.schema == "team_a"
        assert store.location == 'table "team_a".agentrig_state in database db on 127.0.0.1'
    async with open_state_store(f"{scheme}://u@127.0.0.1:1/db") as default:
        assert type(default) is PostgresStateStore
        assert default.schema == DEFAULT_SCHEMA


@pytest.mark.parametrize("url", ["mongodb://localhost/x", "s3://bucket/key", "/just/a/path", ""])
def test_unknown_schemes_are_refused_with_the_known_ones(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_state_store(url)
    message = str(caught.value)
    assert repr(url) in message
    for scheme in ("memory://", "file://", "sqlite://", "redis://", "postgresql://"):
        assert scheme in message
