"""A role's plant tools from its MCP server, through Pydantic AI's own MCP client.

``pydantic_ai.mcp.MCPToolset`` (Pydantic AI 1.x's MCP toolset on a FastMCP ``Client``; the older
``MCPServerStreamableHTTP`` is gone from this release) as the role agent's toolset, in place of
the native :class:`~agentrig.adapters.pydantic_ai.tools.PlantToolset`. The agent's
:class:`~agentrig.adapters.pydantic_ai.tools.ExecutorFallback` still sends a tool the role lacks
to the executor in-process, and the adapter's ``parallel_execution_mode("sequential")`` still
applies the calls of one response in the model's order.

Settings, and why (docs/mcp.md): ``tool_error_behavior="failed"`` (a supported setting) -- a
result with ``isError: true`` (an interlock refusal, an invalid argument) reaches the model as a
failed tool result, as the executor's ``ok: false`` text does natively; the default ``"retry"``
would spend the tool's retry budget on every refusal and end the run with
``UnexpectedModelBehavior`` after the second. ``read_timeout``/``init_timeout`` are the
endpoint's timeout.
"""

from __future__ import annotations

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the Pydantic AI adapter with --tools mcp", "pydantic-ai") from error

__all__ = ["mcp_toolset"]


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
