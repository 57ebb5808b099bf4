"""What only the SQLite backend has: WAL, the busy timeout, the worker thread, odd rows."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from agentrig.core.state import Versioned
from agentrig.core.state.sqlite import SqliteStateStore
from agentrig.exceptions import CorruptStateError


@pytest.fixture
async def store(tmp_path: Path) -> SqliteStateStore:
    return SqliteStateStore(tmp_path / "state.db", busy_timeout=5.0)


async def test_the_database_is_in_wal_mode(store: SqliteStateStore) -> None:
    await store.save("k", {"n": 1})
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


async def test_a_locked_database_waits_without_blocking_the_event_loop(
    store: SqliteStateStore,
) -> None:
    await store.save("k", {"n": 1})
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    save = asyncio.create_task(store.save("k", {"n": 2}, expected_version=1))
    await asyncio.sleep(0.3)
    assert not save.done()  # waiting on the busy timeout ...
    assert ticks >= 10  # ... while the loop keeps running
    other.execute("COMMIT")
    other.close()
    assert await save == 2
    ticker.cancel()
    assert await store.load("k") == Versioned({"n": 2}, 2)


@pytest.mark.parametrize(
    ("version", "document", "reason"),
    [
        (1, b"\xff\xfe{\x00}\x00", "can't decode"),  # UTF-16 "{}": stored text is UTF-8
        (1, 42, "found int"),
        (0, "{}", "version is 0"),
        ("two", "{}", "version is 'two'"),
    ],
)
async def test_odd_rows_are_corrupt_and_kept(
    store: SqliteStateStore, version: object, document: object, reason: str
) -> None:
    await store.save("k", {"n": 1})
    with sqlite3.connect(store.path) as connection:
        connection.execute(
            "UPDATE agentrig_state SET version = ?, document = ? WHERE key = 'k'",
            (version, document),
        )
        tampered = connection.execute("SELECT version, document FROM agentrig_state").fetchone()
    connection.close()
    for attempt in (lambda: store.load("k"), lambda: store.save("k", {"n": 2})):
        with pytest.raises(CorruptStateError) as caught:
            await attempt()
        assert str(store.path) in caught.value.location
        assert reason in caught.value.reason or reason in str(caught.value)
    with sqlite3.connect(store.path) as connection:
        row = connection.execute("SELECT version, document FROM agentrig_state").fetchone()
    connection.close()
    assert row == tampered


async def test_close_releases_the_database(store: SqliteStateStore) -> None:
    await store.save("k", {"n": 1})
    await store.close()
    assert store._connection is None
    thread = store._worker._thread
    assert thread is not None
    thread.join(timeout=5)
    assert not thread.is_alive()  # the worker thread ends too
