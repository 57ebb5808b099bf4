"""A role's plant tools from its MCP server, through the OpenAI Agents SDK's own MCP client.

``agents.mcp.MCPServerStreamableHttp`` (``MCPServerStdio`` for stdio) on the role's endpoint, given
to the role's ``Agent`` as ``mcp_servers``; the SDK lists its tools and wraps each in a
``FunctionTool`` that calls ``session.call_tool``. :class:`PlantMcpServer` adds only what the
native :func:`~agentrig.adapters.openai_agents.tools.plant_tool` does: the calls of one model
response apply in the model's order (the SDK runs them as concurrent tasks), and the first
error that is not a tool result is kept for the adapter to raise. A tool the role lacks still
reaches the executor in-process (:meth:`PlantAgent.stray_tool <.tools.PlantAgent.stray_tool>`).

Settings, and why (docs/mcp.md): ``mcp_config={"convert_schemas_to_strict": True}`` (the SDK's
supported setting) so the model is offered the catalogue's strict schemas with ``strict: true``,
as natively; ``client_session_timeout_seconds`` is the endpoint's timeout (the SDK's default is
5 s). A result with ``isError: true`` reaches the model as its text (the SDK ignores the flag).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from agentrig.adapters.openai_agents.tools import RunGuard
from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from agents.mcp import (
        MCPServer,
        MCPServerStdio,
        MCPServerStdioParams,
        MCPServerStreamableHttp,
    )
    from mcp.types import CallToolResult
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError(
        "the OpenAI Agents adapter with --tools mcp", "openai-agents"
    ) from error

__all__ = ["MCP_CONFIG", "PlantMcpServer", "mcp_server"]

MCP_CONFIG: Any = {"convert_schemas_to_strict": True}
"""The ``Agent.mcp_config`` of an MCP run: strict schemas, as the native ``FunctionTool``s."""


class PlantMcpServer(MCPServerStreamableHttp):
    """``MCPServerStreamableHttp`` on a role's server, calls in the model's order."""

    def __init__(self, endpoint: McpEndpoint, guard: RunGuard, name: str) -> None:
        super().__init__(
            {
                "url": endpoint.url or "",
                "headers": dict(endpoint.headers),
                "timeout": endpoint.timeout_s,
                "sse_read_timeout": endpoint.timeout_s,
            },
            cache_tools_list=True,  # the catalogue does not change during a run
            name=name,
            client_session_timeout_seconds=endpoint.timeout_s,
        )
        self.guard = guard

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        async with self.guard.order:
            return await super().call_tool(tool_name, arguments, meta)


class _PlantMcpServerStdio(MCPServerStdio):
    """``MCPServerStdio`` on a role's server, calls in the model's order."""

    def __init__(self, endpoint: McpEndpoint, guard: RunGuard, name: str) -> None:
        params: MCPServerStdioParams = {
            "command": endpoint.command or "agentrig",
            "args": list(endpoint.args),
        }
        if endpoint.env is not None:
            params["env"] = dict(endpoint.env)
        super().__init__(
            params,
            cache_tools_list=True,
            name=name,
            client_session_timeout_seconds=endpoint.timeout_s,
        )
        self.guard = guard

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        async with self.guard.order:
            return await super().call_tool(tool_name, arguments, meta)


@contextlib.asynccontextmanager
async def mcp_server(endpoint: McpEndpoint, guard: RunGuard, name: str) -> AsyncIterator[MCPServer]:
    """The SDK's client on ``endpoint``, connected while the block runs."""
    server: PlantMcpServer | _PlantMcpServerStdio = (
        _PlantMcpServerStdio(endpoint, guard, name)
        if endpoint.transport == "stdio"
        else PlantMcpServer(endpoint, guard, name)
    )
    async with server:
        yield server
