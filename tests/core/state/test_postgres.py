"""What only the PostgreSQL backend has: its schema and table, pools, the missing extra."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator

import pytest

from agentrig.core.state import Versioned, open_state_store
from agentrig.core.state.base import pop_url_option
from agentrig.exceptions import ConfigurationError, MissingExtraError

psycopg = pytest.importorskip("psycopg")
psycopg_pool = pytest.importorskip("psycopg_pool")
from agentrig.core.state.postgres import PostgresStateStore  # noqa: E402


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStateStore]:
    store = open_state_store(postgres_url)
    assert isinstance(store, PostgresStateStore)
    yield store
    await store.close()


async def test_the_schema_and_table_are_created_on_first_use(
    store: PostgresStateStore, postgres_server_url: str
) -> None:
    query = (
        "SELECT column_name, data_type, collation_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'agentrig_state' ORDER BY ordinal_position"
    )
    async with await psycopg.AsyncConnection.connect(postgres_server_url) as connection:
        cursor = await connection.execute(query, (store.schema,))
        assert await cursor.fetchall() == []
        await store.save("k", {"n": 1})
        cursor = await connection.execute(query, (store.schema,))
        assert await cursor.fetchall() == [
            ("key", "text", "C"),
            ("version", "bigint", None),
            ("document", "text", None),
        ]


async def test_two_stores_creating_the_same_schema_at_once(postgres_url: str) -> None:
    stores = [open_state_store(postgres_url) for _ in range(4)]
    versions = await asyncio.gather(*(s.save(f"k{i}", {"i": i}) for i, s in enumerate(stores)))
    assert versions == [1, 1, 1, 1]
    assert await stores[0].keys() == ["k0", "k1", "k2", "k3"]
    for each in stores:
        await each.close()


async def test_a_store_given_a_pool_leaves_it_open(
    postgres_url: str, postgres_server_url: str
) -> None:
    _, schema = pop_url_option(postgres_url, "schema")
    pool = psycopg_pool.AsyncConnectionPool(postgres_server_url, min_size=1, max_size=2, open=False)
    await pool.open()
    try:
        async with PostgresStateStore(pool, schema=schema or "") as store:
            await store.save("k", {"n": 1})
            assert await store.load("k") == Versioned({"n": 1}, 1)
        assert not pool.closed
        async with pool.connection() as connection:
            cursor = await connection.execute("SELECT 1")
            assert await cursor.fetchone() == (1,)
    finally:
        await pool.close()


@pytest.mark.parametrize("schema", ["", "x" * 64])
def test_unusable_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(ConfigurationError, match="schema"):
        PostgresStateStore("postgresql://u@h/db", schema=schema)


async def test_schema_names_are_quoted_not_interpolated(postgres_server_url: str) -> None:
    schema = 'agentrig_test_odd"; DROP TABLE x; --'
    store = PostgresStateStore(postgres_server_url, schema=schema)
    try:
        await store.save("k", {"n": 1})
        assert await store.load("k") == Versioned({"n": 1}, 1)
    finally:
        await store.close()
        async with await psycopg.AsyncConnection.connect(
            postgres_server_url, autocommit=True
        ) as connection:
            await connection.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(schema)
                )
            )


async def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg_pool", None)
    monkeypatch.delitem(sys.modules, "agentrig.core.state.postgres")
    with pytest.raises(MissingExtraError) as caught:
        importlib.import_module("agentrig.core.state.postgres")
    assert caught.value.extra == "postgres"
    with pytest.raises(MissingExtraError, match=r"agentrig\[postgres\]"):
        open_state_store("postgresql://u@h/db")
