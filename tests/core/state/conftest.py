"""The five state store backends as one parametrised fixture, each with a way past its API.

``backend`` is a :class:`Backend`: an open store plus ``RawAccess`` -- how to read and overwrite
the stored bytes directly (the file, the SQLite row, the Redis hash, the PostgreSQL row), which the
corrupt-data tests need to play "someone else wrote garbage".
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from agentrig.core.state import StateStore, open_state_store
from agentrig.core.state.base import pop_url_option
from agentrig.core.state.file import FileStateStore
from agentrig.core.state.memory import MemoryStateStore
from agentrig.core.state.sqlite import SqliteStateStore


class RawAccess(Protocol):
    """Reads and overwrites a key's stored document behind the store's back."""

    async def read(self, key: str) -> str | None: ...

    async def overwrite(self, key: str, garbage: str) -> None:
        """Replace an existing key's document with ``garbage``, keeping its version."""
        ...

    def location_hint(self, key: str) -> str:
        """A string the CorruptStateError's location must contain."""
        ...


@dataclass
class Backend:
    name: str
    url: str
    store: StateStore
    raw: RawAccess


class MemoryRaw:
    def __init__(self, store: MemoryStateStore) -> None:
        self.store = store

    async def read(self, key: str) -> str | None:
        return self.store.get_raw(key)

    async def overwrite(self, key: str, garbage: str) -> None:
        self.store.put_raw(key, garbage)

    def location_hint(self, key: str) -> str:
        return "memory://"


class FileRaw:
    """The document part of the file, ``{"version":N,"state":<here>}``; test_file.py covers
    files that are garbage as a whole."""

    LAYOUT = re.compile(r'\{"version":(\d+),"state":(.*)\}', re.DOTALL)

    def __init__(self, store: FileStateStore) -> None:
        self.store = store

    async def read(self, key: str) -> str | None:
        path = self.store.path_for(key)
        if not path.exists():
            return None
        match = self.LAYOUT.fullmatch(path.read_text("utf-8"))
        assert match, "the file no longer has the layout the store writes"
        return match[2]

    async def overwrite(self, key: str, garbage: str) -> None:
        path = self.store.path_for(key)
        match = self.LAYOUT.fullmatch(path.read_text("utf-8"))
        assert match
        path.write_text(f'{{"version":{match[1]},"state":{garbage}}}', "utf-8")

    def location_hint(self, key: str) -> str:
        return str(self.store.path_for(key))


class SqliteRaw:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def read(self, key: str) -> str | None:
        with sqlite3.connect(self.path) as connection:
            row = connection.execute(
                "SELECT document FROM agentrig_state WHERE key = ?", (key,)
            ).fetchone()
        connection.close()
        return None if row is None else str(row[0])

    async def overwrite(self, key: str, garbage: str) -> None:
        with sqlite3.connect(self.path) as connection:
            changed = connection.execute(
                "UPDATE agentrig_state SET document = ? WHERE key = ?", (garbage, key)
            ).rowcount
        connection.close()
        assert changed == 1

    def location_hint(self, key: str) -> str:
        return str(self.path)


class RedisRaw:
    def __init__(self, url: str) -> None:
        self.server_url, prefix = pop_url_option(url, "prefix")
        assert prefix
        self.hash_key = f"{prefix}state:"

    async def _call(self, *command: str) -> Any:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self.server_url)
        try:
            return await client.execute_command(*command)
        finally:
            await client.aclose()

    async def read(self, key: str) -> str | None:
        value = await self._call("HGET", self.hash_key + key, "d")
        return None if value is None else value.decode()

    async def overwrite(self, key: str, garbage: str) -> None:
        assert await self._call("EXISTS", self.hash_key + key) == 1
        await self._call("HSET", self.hash_key + key, "d", garbage)

    def location_hint(self, key: str) -> str:
        return self.hash_key + key


class PostgresRaw:
    def __init__(self, url: str) -> None:
        self.server_url, schema = pop_url_option(url, "schema")
        assert schema
        self.schema = schema

    async def _execute(self, query: str, params: tuple[str, ...]) -> list[tuple[object, ...]]:
        import psycopg
        from psycopg import sql

        statement = sql.SQL(query).format(sql.Identifier(self.schema, "agentrig_state"))
        async with await psycopg.AsyncConnection.connect(self.server_url, autocommit=True) as conn:
            cursor = await conn.execute(statement, params)
            return await cursor.fetchall() if cursor.description else [(cursor.rowcount,)]

    async def read(self, key: str) -> str | None:
        rows = await self._execute("SELECT document FROM {} WHERE key = %s", (key,))
        return None if not rows else str(rows[0][0])

    async def overwrite(self, key: str, garbage: str) -> None:
        rows = await self._execute("UPDATE {} SET document = %s WHERE key = %s", (garbage, key))
        assert rows == [(1,)]

    def location_hint(self, key: str) -> str:
        return self.schema


@pytest.fixture
async def backend(backend_url: str) -> AsyncIterator[Backend]:
    store = open_state_store(backend_url)
    raw: RawAccess
    if isinstance(store, MemoryStateStore):
        raw, name = MemoryRaw(store), "memory"
    elif isinstance(store, FileStateStore):
        raw, name = FileRaw(store), "file"
    elif isinstance(store, SqliteStateStore):
        raw, name = SqliteRaw(store.path), "sqlite"
    elif backend_url.startswith("redis"):
        raw, name = RedisRaw(backend_url), "redis"
    else:
        raw, name = PostgresRaw(backend_url), "postgres"
    yield Backend(name, backend_url, store, raw)
    await store.close()


@pytest.fixture
def store(backend: Backend) -> StateStore:
    return backend.store
