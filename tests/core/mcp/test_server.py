"""The plant's MCP server: the catalogue unchanged, every call through the executor and its span,
and the HTTP transport's refusals (non-loopback without a token, a wrong token, a foreign Origin
or Host)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agentrig.cli.app import EXIT_BAD_USAGE, app
from agentrig.core.mcp.http import PlantMcpHttpServer, _bind, check_bind
from agentrig.core.mcp.server import PlantToolService
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.tools import tools_for_role
from agentrig.core.state import open_state_store
from agentrig.core.telemetry import Telemetry, capture_telemetry
from agentrig.exceptions import ConfigurationError
from tests.adapters.harness import ledger_of
from tests.mcp_compat import (
    HTTP_ERRORS,
    MCP_ERROR,
    client_session,
    result_is_error,
    tool_input_schema,
)
from tests.sockets import accepted_nodelay

RUN_ID = "mcp-test-run"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
async def plant_service() -> AsyncIterator[PlantToolService]:
    store = open_state_store("memory://")
    plant = await Plant.create(store, RUN_ID, "blocked-discharge")
    executor = plant.executor()
    yield PlantToolService(executor)
    executor.close()
    await store.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_a_non_loopback_bind_without_a_token_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match=r"bind 127\.0\.0\.1.*bearer token"):
        check_bind(host, None)
    check_bind(host, "s3cret")  # with a token it may
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)


def test_the_cli_refuses_a_non_loopback_bind_without_a_token() -> None:
    result = CliRunner().invoke(
        app,
        ["mcp", "serve", "-s", "blocked-discharge", "--host", "0.0.0.0", "--state", "memory://"],
    )
    assert result.exit_code == EXIT_BAD_USAGE
    assert "refusing to serve the plant's tools on 0.0.0.0" in result.output


async def test_the_server_refuses_a_wrong_or_missing_bearer_token(
    plant_service: PlantToolService,
) -> None:
    async with PlantMcpHttpServer(plant_service, token="s3cret") as server:
        url = server.endpoints()["monitor"].url
        assert url is not None
        async with httpx.AsyncClient() as client:
            missing = await client.post(url, json=INITIALIZE, headers=HEADERS)
            wrong = await client.post(
                url, json=INITIALIZE, headers={**HEADERS, "Authorization": "Bearer nope"}
            )
            right = await client.post(
                url, json=INITIALIZE, headers={**HEADERS, "Authorization": "Bearer s3cret"}
            )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200, right.text
    assert '"serverInfo":{"name":"agentrig-plant"' in right.text  # an SSE event


async def test_the_server_refuses_a_foreign_origin_or_host(
    plant_service: PlantToolService,
) -> None:
    async with PlantMcpHttpServer(plant_service, allowed_origins=["http://ide.example"]) as server:
        url = server.endpoints()["operator"].url
        assert url is not None
        async with httpx.AsyncClient() as client:

            async def post(**headers: str) -> int:
                response = await client.post(url, json=INITIALIZE, headers={**HEADERS, **headers})
                return response.status_code

            assert await post(Origin="http://evil.example") == 403
            assert await post(Origin=f"http://localhost:{server.port}") == 200
            assert await post(Origin="http://ide.example") == 200
            assert await post(Host=f"evil.example:{server.port}") == 421  # DNS rebinding
            assert await post() == 200  # SDK clients send no Origin


async def test_tools_are_the_catalogue_and_calls_go_through_the_executor_in_a_hop_span() -> None:
    store = open_state_store("memory://")
    plant = await Plant.create(store, RUN_ID, "blocked-discharge")
    with capture_telemetry() as captured:
        telemetry = Telemetry(RUN_ID, "plain", "blocked-discharge", metrics=captured.metrics)
        executor = plant.executor(hooks=[telemetry.tool_hook])
        service = PlantToolService(executor, telemetry)
        async with PlantMcpHttpServer(service) as server:
            url = server.endpoints()["operator"].url
            assert url is not None
            with telemetry.workflow("maintenance"), telemetry.agent("operator") as agent:
                async with client_session(url) as session:
                    listed = (await session.list_tools()).tools
                    status = await session.call_tool(
                        "check_device_status", {"device_id": "pump-07"}
                    )
                    invalid = await session.call_tool(
                        "set_valve", {"device_id": "valve-12", "open_percent": 500}
                    )
        telemetry.close()
        executor.close()
    specs = tools_for_role("operator")
    assert [(t.name, t.description, tool_input_schema(t)) for t in listed] == [
        (s.name, s.description, s.json_schema()) for s in specs
    ]
    assert result_is_error(status) is False
    assert '"device_id":"pump-07"' in status.content[0].text
    assert result_is_error(invalid) is True
    assert "open_percent: Input should be less than or equal to 100" in invalid.content[0].text  # type: ignore[union-attr]
    ledger = await ledger_of(store, RUN_ID)
    assert [(e.role, e.tool, e.outcome) for e in ledger] == [
        ("operator", "check_device_status", "read"),
        ("operator", "set_valve", "rejected"),
    ]
    hops = captured.by_name("mcp.server tools/call check_device_status")
    tools = captured.by_name("execute_tool check_device_status")
    assert len(hops) == len(tools) == 1
    assert hops[0].parent is not None
    assert tools[0].parent is not None
    assert hops[0].parent.span_id == agent.get_span_context().span_id
    assert tools[0].parent.span_id == hops[0].context.span_id  # type: ignore[union-attr]
    assert hops[0].attributes["agentrig.run_id"] == RUN_ID  # type: ignore[index]
    # One execute_tool span per call, the executor's: mcp 2.x's server would add its own
    # ("tools/call {tool}", gen_ai.operation.name execute_tool); agentrig.core.mcp.compat drops it.
    assert [
        s.name
        for s in captured.spans()
        if (s.attributes or {}).get("gen_ai.operation.name") == "execute_tool"
    ] == ["execute_tool check_device_status", "execute_tool set_valve"]
    assert (
        captured.sample(
            "agentrig_tool_calls_total", framework="plain", tool="set_valve", status="error"
        )
        == 1
    )
    await store.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tools", "grpc"], "--tools 'grpc': use native, mcp, or native,mcp"),
        (["--tools", "native,mcp", "--kill", "1"], "crash tests run native tools only"),
    ],
)
def test_compare_refuses_a_bad_tools_option_before_anything_runs(
    options: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", "-f", "plain", "--out", str(out), *options])
    assert result.exit_code == EXIT_BAD_USAGE
    assert message in result.output
    assert not out.exists()


async def test_a_server_stopping_beside_others_cuts_no_other_servers_response(
    plant_service: PlantToolService,
) -> None:
    # Every run of a comparison serves its MCP tools from its own server on the one event loop.
    # uvicorn's serve() points SIGTERM at the server's handle_exit and puts the handler it found
    # back when it returns; sse-starlette's shutdown watcher takes the server behind the SIGTERM
    # handler for "the" server and, once that one's should_exit is set, ends every SSE response
    # in the thread. With servers starting and stopping out of order, a stopped server's handler
    # stays installed while another serves, and that one's responses were cut: the call reached
    # the plant and its result never reached the client.
    plant_service.delay_s = 1.5  # the call is in flight for longer than the watcher's 0.5 s poll
    first = await PlantMcpHttpServer(plant_service).start()
    second = await PlantMcpHttpServer(plant_service).start()
    await first.stop()
    serving = await PlantMcpHttpServer(plant_service).start()
    try:
        await second.stop()  # puts back the handler it found: the stopped first server's
        url = serving.endpoints()["monitor"].url
        assert url is not None
        async with client_session(url, timeout_s=6) as session:
            status = await session.call_tool("check_device_status", {"device_id": "pump-07"})
    finally:
        await serving.stop()
    assert result_is_error(status) is False
    assert '"device_id":"pump-07"' in status.content[0].text  # type: ignore[union-attr]


async def test_a_stop_ends_the_sessions_clients_still_hold_open(
    plant_service: PlantToolService,
) -> None:
    # A live client session holds an SSE stream open; uvicorn's graceful stop waits for it
    # without end unless told how long to wait (a restart mid-run hung its run until --timeout).
    server = await PlantMcpHttpServer(plant_service).start()
    url = server.endpoints()["monitor"].url
    assert url is not None
    stopped = False
    try:
        async with client_session(url, timeout_s=5) as session:
            await session.list_tools()
            await asyncio.wait_for(server.stop(), timeout=20)  # a TimeoutError fails the test
            stopped = True
    except* (*HTTP_ERRORS, MCP_ERROR):
        pass  # the client finds its server gone on its way out
    assert stopped


async def test_a_session_that_ends_normally_logs_no_error_but_other_writer_errors_still_show(
    plant_service: PlantToolService, caplog: pytest.LogCaptureFixture
) -> None:
    # mcp 1.x closes the stream its standalone SSE writer reads when a client ends its session,
    # and logs that ClosedResourceError as "Error in standalone SSE writer" at ERROR: one
    # traceback per role session in every run's console, for the normal end of a session.
    caplog.set_level(logging.INFO)
    async with PlantMcpHttpServer(plant_service) as server:
        url = server.endpoints()["monitor"].url
        assert url is not None
        async with client_session(url) as session:
            await session.call_tool("check_device_status", {"device_id": "pump-07"})
        await asyncio.sleep(0.2)  # the server's side of the session ends after the client's
    mcp_records = [record for record in caplog.records if record.name.startswith("mcp.")]
    assert mcp_records == []

    # The same message with any other error is still an error that shows.
    writer_log = logging.getLogger("mcp.server.streamable_http")
    try:
        raise RuntimeError("the SSE writer broke")
    except RuntimeError:
        writer_log.exception("Error in standalone SSE writer")
    shown = [record for record in caplog.records if record.name == writer_log.name]
    assert [(record.levelname, record.getMessage()) for record in shown] == [
        ("ERROR", "Error in standalone SSE writer")
    ]


async def test_the_servers_connections_send_without_nagles_delay() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto says TCP; a listening socket made with
    # proto 0 handed that 0 to every connection, and Nagle then held a response body written
    # after its headers on a kept-alive connection until the client's delayed ACK (~40 ms a
    # call for mcp 2.x's Client, whose 2026-07-28 protocol answers with JSON bodies).
    assert await accepted_nodelay(_bind("127.0.0.1", 0)) == 1
