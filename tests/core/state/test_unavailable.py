"""A server that cannot be reached fails fast, with one typed error naming the URL and the cause.

Before, an unreachable PostgreSQL waited 30 s and said only ``PoolTimeout: pool initialization
incomplete``; an unreachable Redis surfaced as redis-py's ``ConnectionError``. The time bound
below is a correctness bound (well under the old 30 s), not a speed measurement: that lives in
``benchmarks/state_unreachable.py``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import pytest

from agentrig.core.backends import redact_url
from agentrig.core.state import StateStore, open_state_store
from agentrig.exceptions import AgentrigError, BackendUnavailableError

CORRECTNESS_BOUND_SECONDS = 10.0

Operation = Callable[[StateStore], Awaitable[object]]
OPERATIONS: dict[str, Operation] = {
    "load": lambda store: store.load("runs/r/plant"),
    "save": lambda store: store.save("runs/r/plant", {"n": 1}),
    "delete": lambda store: store.delete("runs/r/plant"),
    "keys": lambda store: store.keys("runs/"),
}


def with_netloc(
    url: str, *, password: str, port: int | None = None, path: str | None = None
) -> str:
    """``url`` with a password added and, optionally, another port and path."""
    parts = urlsplit(url)
    user = parts.username or ""
    netloc = f"{user}:{password}@{parts.hostname}:{port or parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path if path is None else path, parts.query, ""))


async def failure(url: str, operation: Operation) -> tuple[BackendUnavailableError, float]:
    store = open_state_store(url)
    start = time.monotonic()
    try:
        with pytest.raises(BackendUnavailableError) as caught:
            await operation(store)
        elapsed = time.monotonic() - start
    finally:
        await store.close()
    return caught.value, elapsed


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_postgres_without_the_database_names_it(
    postgres_server_url: str, operation: str
) -> None:
    database = f"nosuchdb_{uuid.uuid4().hex[:8]}"
    url = with_netloc(postgres_server_url, password="s3cret", path=f"/{database}")
    error, elapsed = await failure(f"{url}?schema=agentrig", OPERATIONS[operation])

    assert error.reason == f'database "{database}" does not exist'
    assert error.url == url.replace(":s3cret@", ":***@")
    assert str(error) == (
        f"cannot reach {error.url}: {error.reason}; check that the server is running and that "
        "the URL's host, port, database and password are right"
    )
    assert "s3cret" not in str(error)
    assert elapsed < CORRECTNESS_BOUND_SECONDS


async def test_postgres_on_a_closed_port_is_refused(postgres_server_url: str) -> None:
    url = with_netloc(postgres_server_url, password="s3cret", port=1)
    error, elapsed = await failure(url, OPERATIONS["save"])

    assert error.reason == "Connection refused"
    assert error.url == url.replace(":s3cret@", ":***@")
    assert ":1/" in error.url
    assert "s3cret" not in str(error)
    assert isinstance(error, AgentrigError)
    assert elapsed < CORRECTNESS_BOUND_SECONDS


async def test_postgres_store_works_once_the_database_answers(postgres_url: str) -> None:
    # The connection that checks reachability also creates the table: nothing else changes.
    async with open_state_store(postgres_url) as store:
        assert await store.save("k", {"n": 1}) == 1
        assert await store.keys() == ["k"]


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_redis_on_a_closed_port_is_refused(redis_server_url: str, operation: str) -> None:
    url = with_netloc(redis_server_url, password="s3cret", port=1)
    error, elapsed = await failure(f"{url}?prefix=agentrig-test:", OPERATIONS[operation])

    assert error.reason == "Connection refused"
    assert error.url == url.replace(":s3cret@", ":***@")  # the server; the prefix is no cause
    assert "s3cret" not in str(error)
    assert elapsed < CORRECTNESS_BOUND_SECONDS


async def test_redis_store_given_a_client_names_its_server(redis_server_url: str) -> None:
    import redis.asyncio

    from agentrig.core.state.redis import RedisStateStore

    host = urlsplit(redis_server_url).hostname
    client = redis.asyncio.Redis(host=host, port=1, db=3)
    try:
        with pytest.raises(BackendUnavailableError) as caught:
            await RedisStateStore(client).load("k")
    finally:
        await client.aclose()
    assert caught.value.url == f"redis://{host}:1/3"
    assert caught.value.reason == "Connection refused"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        ("redis://:pw@h:6379/0?prefix=a:", "redis://:***@h:6379/0?prefix=a:"),
        (
            "postgresql://u@h/db?password=pw&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        ("host=h password='p w' dbname=db", "host=h password=*** dbname=db"),
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_redact_url_hides_passwords_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown
