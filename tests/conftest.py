"""Suite-wide set-up: framework opt-outs, an isolated HOME, the slow-test flag and service fixtures.

Service-backed tests (Redis, PostgreSQL) skip with a reason when the service is absent; with
``AGENTRIG_REQUIRE_SERVICES=1`` (as CI sets it) that skip becomes a failure.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from agentrig.core.contract.optouts import disable_phone_home

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (or set AGENTRIG_RUN_SLOW=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    disable_phone_home()
    # `import crewai` writes under HOME; keep it (and every framework cache) out of the user's HOME.
    os.environ.setdefault("AGENTRIG_TEST_ORIGINAL_HOME", os.environ.get("HOME", ""))
    os.environ["HOME"] = tempfile.mkdtemp(prefix="agentrig-test-home-")


# Tests that talk to a model server on purpose. Every other test that reaches a live model fails
# (agentrig_block_model_requests in pyproject.toml): it must replay a cassette (docs/cassettes.md).
LIVE_MODEL_TESTS: dict[str, str] = {
    "tests/core/llm/": "the reference model's own tests: servers they start and call",
    "tests/core/telemetry/": "telemetry end to end against the reference model, and against an "
    "in-process OpenAI stub",
}
# The cassette tests live beside the reference model's but replay; they mark what they record.
CASSETTE_TESTS = "tests/core/llm/test_cassettes"


def _allow_live_models(items: list[pytest.Item]) -> None:
    allow = pytest.mark.allow_model_requests
    for item in items:
        path = item.path.relative_to(REPO_ROOT).as_posix()
        if path.startswith(CASSETTE_TESTS):
            continue
        if any(path.startswith(prefix) for prefix in LIVE_MODEL_TESTS):
            item.add_marker(allow)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _allow_live_models(items)
    if config.getoption("--run-slow") or os.environ.get("AGENTRIG_RUN_SLOW") == "1":
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow or AGENTRIG_RUN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def services_required() -> bool:
    return os.environ.get("AGENTRIG_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> NoReturn:
    """Skip, or fail when CI requires every service-backed test to run."""
    if services_required():
        pytest.fail(f"{reason} -- AGENTRIG_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def _port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server tests may use (db 15 by default); skips or fails when absent."""
    url = os.environ.get("AGENTRIG_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        import redis
    except ImportError:
        service_unavailable("the redis client is not installed: pip install 'agentrig[redis]'")
    if not _port_open(url, 6379):
        service_unavailable(f"Redis is not reachable at {url}")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    finally:
        client.close()
    return url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (or concurrent test session) uses."""
    return f"agentrig-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def redis_url(redis_server_url: str, redis_prefix: str) -> Iterator[str]:
    """A Redis URL scoped to this test by its ``prefix``; every key under it is deleted after."""
    import redis

    separator = "&" if "?" in redis_server_url else "?"
    yield f"{redis_server_url}{separator}prefix={redis_prefix}"
    client = redis.Redis.from_url(redis_server_url)
    try:
        keys = list(client.scan_iter(match=f"{redis_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL database tests may use; skips or fails when absent."""
    url = os.environ.get("AGENTRIG_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        import psycopg
    except ImportError:
        service_unavailable("psycopg is not installed: pip install 'agentrig[postgres]'")
    if not _port_open(url, 5432):
        service_unavailable(f"PostgreSQL is not reachable at {url}")
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute("SELECT 1")
    return url


@pytest.fixture
async def postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A PostgreSQL URL scoped to a fresh schema (``?schema=``), dropped after the test."""
    import psycopg

    schema = f"agentrig_test_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in postgres_server_url else "?"
    yield f"{postgres_server_url}{separator}schema={schema}"
    async with await psycopg.AsyncConnection.connect(postgres_server_url, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


STATE_BACKENDS = ["memory", "file", "sqlite", "redis", "postgres"]


@pytest.fixture(params=STATE_BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty state store URL of each backend (Redis and PostgreSQL scoped per test).

    The state conformance suite and the plant's tests run on every backend through it.
    """
    name = request.param
    if name == "memory":
        return "memory://"
    if name == "file":
        return f"file://{tmp_path / 'state'}"
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    if name == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(request.getfixturevalue("postgres_url"))
