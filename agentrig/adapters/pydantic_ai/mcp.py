"""A role's plant tools from its MCP server, through Pydantic AI's own MCP client.

``pydantic_ai.mcp.MCPToolset`` (Pydantic AI 1.x's MCP toolset on a FastMCP ``Client``; the older
``MCPServerStreamableHTTP`` is gone from this release) as the role agent's toolset, in place of
the native :class:`~agentrig.adapters.pydantic_ai.tools.PlantToolset`, wrapped in
:class:`PlantMcpToolset` so that what the native path does still holds: arguments that are not
a JSON object (which no MCP request can carry; Pydantic AI would answer them itself with a retry
prompt) go to the executor in-process, like a tool the role lacks (the agent's
:class:`~agentrig.adapters.pydantic_ai.tools.ExecutorFallback`); the adapter's
``parallel_execution_mode("sequential")`` still applies the calls of one response in the
model's order.

Settings, and why (docs/mcp.md): ``tool_error_behavior="failed"`` (a supported setting) -- a
result with ``isError: true`` (an interlock refusal, an invalid argument) reaches the model as a
failed tool result, as the executor's ``ok: false`` text does natively; the default ``"retry"``
would spend the tool's retry budget on every refusal and end the run with
``UnexpectedModelBehavior`` after the second. ``read_timeout``/``init_timeout`` are the
endpoint's timeout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from agentrig.adapters.pydantic_ai.tools import RAW_KEY, PlantToolset, RawArguments
from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai import RunContext
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.toolsets import ToolsetTool, WrapperToolset
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the Pydantic AI adapter with --tools mcp", "pydantic-ai") from error

__all__ = ["PlantMcpToolset", "mcp_toolset"]

_RAW_ARGUMENTS = RawArguments()


@dataclass
class PlantMcpToolset(WrapperToolset[Any]):
    """The role's MCP toolset; arguments no MCP request can carry go to the executor in-process.

    Its tools take the model's arguments as sent (:class:`RawArguments`, as the native toolset's),
    so Pydantic AI refuses none of them itself; a JSON object goes over MCP, anything else to
    ``plant`` -- the executor records it and answers with the same text as in every framework.
    """

    plant: PlantToolset

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        tools = await self.wrapped.get_tools(ctx)
        return {name: replace(tool, args_validator=_RAW_ARGUMENTS) for name, tool in tools.items()}

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        arguments = _json_object(tool_args.get(RAW_KEY))
        if arguments is None:
            return await self.plant.call_tool(name, tool_args, ctx, tool)
        return await self.wrapped.call_tool(name, arguments, ctx, tool)


def _json_object(sent: Any) -> dict[str, Any] | None:
    """The model's arguments as a JSON object, or None when they are not one."""
    if sent is None or sent == "":
        return {}
    if isinstance(sent, str):
        try:
            sent = json.loads(sent)
        except ValueError:
            return None
    return dict(sent) if isinstance(sent, Mapping) else None


def mcp_toolset(endpoint: McpEndpoint) -> MCPToolset[None]:
    """Pydantic AI's toolset on ``endpoint`` (it connects when the agent's run enters it)."""
    if endpoint.transport == "stdio":
        transport = StdioTransport(
            command=endpoint.command or "agentrig",
            args=list(endpoint.args),
            env=dict(endpoint.env) if endpoint.env is not None else None,
        )
        return MCPToolset(
            transport,
            tool_error_behavior="failed",
            init_timeout=endpoint.timeout_s,
            read_timeout=endpoint.timeout_s,
        )
    return MCPToolset(
        endpoint.url or "",
        tool_error_behavior="failed",
        headers=dict(endpoint.headers),
        init_timeout=endpoint.timeout_s,
        read_timeout=endpoint.timeout_s,
    )
