"""What differs between the two ``mcp`` SDK majors agentrig runs on, in one place.

The main environment has mcp 1.x (crewai, fastmcp, langchain-mcp-adapters and the OpenAI Agents
SDK need ``mcp<2``); Agent Framework's MCP tools need mcp 2.x (``make test-af-mcp``, its own
environment, ``constraints-af-mcp.txt``). agentrig's server, plain's client and the probes work
on both through these functions instead of ``if`` checks of their own:

===========================  =========================================  ==========================
what                         mcp 1.x                                    mcp 2.x
===========================  =========================================  ==========================
low-level server handlers    decorators (``@server.call_tool()``)       ``Server(on_call_tool=)``
a handler that raises        an ``isError`` result (the decorator)      a JSON-RPC error: agentrig
                                                                        answers ``isError`` itself
the server's own spans       none                                       a ``tools/call {tool}``
                                                                        span per call
                                                                        (``OpenTelemetryMiddleware``)
                                                                        -- removed, see below
``streamable_http_client``   3 values, over ``httpx``                   2 values, over ``httpx2``
a read timeout               ``timedelta``                              ``float`` seconds
the protocol error           ``mcp.shared.exceptions.McpError``         ``mcp.MCPError``
``isError`` / schema         ``result.isError``, ``tool.inputSchema``   ``is_error``,
                                                                        ``input_schema``
===========================  =========================================  ==========================

mcp 2.x's server span carries ``gen_ai.operation.name: execute_tool`` for every call: beside the
executor's own ``execute_tool`` span it would describe each call twice, and the hop already has
its span (``mcp.server tools/call``), so an MCP run's spans match the native run's call for call
on both majors (``tests/adapters/test_mcp.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from importlib.metadata import version
from typing import Any

import structlog

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from mcp import types
    from mcp.server.lowlevel import Server
except ImportError as error:
    raise MissingExtraError("the MCP server and clients (--tools mcp)", "mcp") from error
try:
    from mcp import MCPError as _ProtocolError  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError as _ProtocolError  # type: ignore[assignment,unused-ignore]

__all__ = [
    "MCP_ERROR",
    "MCP_MAJOR",
    "ToolCallHandler",
    "low_level_server",
    "mcp_read_timeout",
    "mcp_streams",
    "result_is_error",
    "tool_input_schema",
]

logger = structlog.get_logger(__name__)

MCP_MAJOR = int(version("mcp").split(".", 1)[0])
"""The installed SDK's major version (1 or 2)."""

MCP_ERROR: type[Exception] = _ProtocolError
"""What a client raises for a protocol error (a lost session, a timeout): ``McpError`` in 1.x,
``MCPError`` in 2.x."""

ToolCallHandler = Callable[[str, dict[str, Any]], Awaitable[types.CallToolResult]]
"""``handler(tool, arguments)`` -> the call's result."""

_DECORATOR_STYLE = hasattr(Server, "call_tool")
"""mcp 1.x registers handlers with decorators; 2.x takes them as constructor arguments."""


def mcp_read_timeout(seconds: float) -> Any:
    """A read timeout as this SDK's ``ClientSession`` takes it (``timedelta`` or ``float``)."""
    return timedelta(seconds=seconds) if MCP_MAJOR < 2 else float(seconds)


def result_is_error(result: Any) -> bool:
    """A ``CallToolResult``'s error flag (``isError`` in 1.x, ``is_error`` in 2.x)."""
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", False))


def tool_input_schema(tool: Any) -> dict[str, Any]:
    """A listed ``Tool``'s JSON schema (``inputSchema`` in 1.x, ``input_schema`` in 2.x)."""
    schema = getattr(tool, "input_schema", None)
    return dict(schema if schema is not None else tool.inputSchema)


def low_level_server(
    name: str,
    instructions: str,
    tools: list[types.Tool],
    call_tool: ToolCallHandler,
) -> Server[Any, Any]:
    """A low-level server listing ``tools`` and answering each call with ``call_tool``.

    Arguments are not validated against the listed schemas (the caller does that), and a
    handler that raises answers ``isError: true`` with the exception's text on both majors
    (what 1.x's decorator did), logged here.
    """

    async def answer(tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            return await call_tool(tool, arguments)
        except Exception as exc:  # noqa: BLE001 -- answered as the tool's error, and logged
            logger.warning("mcp tool call raised", tool=tool, error=f"{type(exc).__name__}: {exc}")
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=str(exc))], isError=True
            )

    if _DECORATOR_STYLE:
        server: Server[Any, Any] = Server(name, instructions=instructions)

        @server.list_tools()  # type: ignore[no-untyped-call,untyped-decorator]
        async def list_tools() -> list[types.Tool]:
            return list(tools)

        @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
        async def call(tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
            return await answer(tool, arguments)

        return server

    async def on_list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=list(tools))

    async def on_call_tool(ctx: Any, params: Any) -> types.CallToolResult:
        return await answer(params.name, dict(params.arguments or {}))

    new_style: Any = Server
    constructed: Any = new_style(
        name,
        instructions=instructions,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )
    from mcp.server._otel import OpenTelemetryMiddleware  # type: ignore[import-not-found,unused-ignore]

    # The SDK's own span per call would describe each call a second time (module docstring);
    # its source says "Drop it from this list to opt out".
    constructed.middleware = [
        middleware
        for middleware in constructed.middleware
        if not isinstance(middleware, OpenTelemetryMiddleware)
    ]
    new_server: Server[Any, Any] = constructed
    return new_server


@contextlib.asynccontextmanager
async def mcp_streams(endpoint: McpEndpoint) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's client transport for ``endpoint`` (streamable HTTP or stdio): (read, write).

    Over HTTP the client's timeout is the endpoint's: a tool call longer than that is given up.
    """
    if endpoint.transport == "stdio":
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        parameters = StdioServerParameters(
            command=endpoint.command or "agentrig",
            args=list(endpoint.args),
            env=dict(endpoint.env) if endpoint.env is not None else None,
        )
        async with stdio_client(parameters) as (read, write):
            yield read, write
        return
    from mcp.client.streamable_http import streamable_http_client

    # 2.x's transport takes an httpx2 client (httpx's fork, same API); 1.x's an httpx one.
    http_module: Any = __import__("httpx" if MCP_MAJOR < 2 else "httpx2")
    http = http_module.AsyncClient(
        headers=dict(endpoint.headers),
        timeout=http_module.Timeout(endpoint.timeout_s),
        follow_redirects=True,
    )
    async with http, streamable_http_client(endpoint.url or "", http_client=http) as streams:
        yield streams[0], streams[1]  # 1.x adds a third: the session id getter
