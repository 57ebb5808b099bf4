"""A Redis bus whose server cannot be reached fails at open, fast, with one typed error line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.messaging import _redis, open_message_bus
from agentrig.core.runner import RunServices, RunSettings
from agentrig.exceptions import AgentrigError, BackendUnavailableError

# Port 1 on loopback: nothing listens there, so the connection is refused at once.
REFUSED = "127.0.0.1:1/0"


@pytest.fixture(params=["redis", "redis+pubsub"])
def scheme(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A loopback server that accepts connections and never answers: a hung Redis."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}/0"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_refused_connection_names_the_url_without_its_password(scheme: str) -> None:
    bus = open_message_bus(f"{scheme}://agent:s3cret@{REFUSED}?prefix=x:")  # lazy: no I/O yet

    with pytest.raises(BackendUnavailableError) as caught:
        async with bus:
            raise AssertionError("entered a bus whose server refuses connections")

    error = caught.value
    assert isinstance(error, AgentrigError)
    assert error.url == f"{scheme}://agent:***@{REFUSED}?prefix=x:"
    assert "Connect call failed" in error.reason
    assert "s3cret" not in str(error)
    assert "\n" not in str(error)
    assert str(error).startswith(f"cannot reach {error.url}: {error.reason}; check that")


async def test_a_server_that_never_answers_is_given_up_on_after_the_check_timeout(
    scheme: str, silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_redis, "REACHABLE_CHECK_SECONDS", 0.3)
    bus = open_message_bus(f"{scheme}://{silent_server}")

    with pytest.raises(BackendUnavailableError) as caught:
        await bus.__aenter__()
    await bus.close()

    assert caught.value.reason == "no reply to PING within 0.3 s"
    assert caught.value.url == f"{scheme}://{silent_server}"


async def test_a_bus_built_from_a_client_names_its_server() -> None:
    from redis.asyncio import Redis

    from agentrig.core.messaging.redis_streams import RedisStreamsMessageBus

    bus = RedisStreamsMessageBus(Redis(host="127.0.0.1", port=1, password="s3cret", db=3))
    with pytest.raises(BackendUnavailableError) as caught:
        await bus.__aenter__()
    await bus.close()
    await bus.client.aclose()

    assert caught.value.url == "redis://127.0.0.1:1/3"


async def test_run_services_fail_on_entry_not_in_every_run(tmp_path: Path) -> None:
    settings = RunSettings(state_url="memory://", bus_url=f"redis://{REFUSED}", out_dir=tmp_path)

    with pytest.raises(BackendUnavailableError) as caught:
        async with RunServices(settings):
            raise AssertionError("the runner started with an unreachable bus")

    assert caught.value.url == f"redis://{REFUSED}"


def test_agentrig_run_prints_one_error_line_and_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "run",
            "-f",
            "plain",
            "-s",
            "blocked-discharge",
            "--state",
            "memory://",
            "--bus",
            f"redis+pubsub://:s3cret@{REFUSED}",
            "--out",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 1
    # (Other lines are info logs of the frameworks' imports.)
    [line] = [line for line in result.output.splitlines() if "error" in line]
    assert line.startswith(f"error: cannot reach redis+pubsub://:***@{REFUSED}: ")
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output
