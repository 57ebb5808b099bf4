"""A role's plant tools from its MCP server, through AutoGen's own MCP client (``McpWorkbench``).

``autogen_ext.tools.mcp.McpWorkbench`` lists the server's tools for the agent and calls them in
its session actor. :class:`PlantMcpWorkbench` adds only what the native
:class:`~agentrig.adapters.autogen.tools.PlantWorkbench` does for every adapter: the tool calls
of one model response apply in the order the model gave them (AgentChat runs them concurrently;
the plant's clock advances with every call), and the calls AgentChat answers itself (arguments
that are not JSON, a tool the role lacks) reach the executor in-process.

Measured, not patched (docs/mcp.md): ``McpWorkbench.call_tool`` turns *any* exception -- a
timeout, a server that went away -- into an ``is_error`` tool result the model reads, so a broken
hop does not fail the run; the model sees ``Error: ...`` and carries on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentrig.adapters.autogen.tools import PlantWorkbench
from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from autogen_core import CancellationToken, FunctionCall
    from autogen_core.models import FunctionExecutionResult
    from autogen_core.tools import ToolResult
    from autogen_ext.tools.mcp import (
        McpServerParams,
        McpWorkbench,
        StdioServerParams,
        StreamableHttpServerParams,
    )
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the AutoGen adapter with --tools mcp", "autogen") from error

__all__ = ["PlantMcpWorkbench", "server_params"]


def server_params(endpoint: McpEndpoint) -> McpServerParams:
    """AutoGen's server parameters for ``endpoint``."""
    if endpoint.transport == "stdio":
        return StdioServerParams(
            command=endpoint.command or "agentrig",
            args=list(endpoint.args),
            env=dict(endpoint.env) if endpoint.env is not None else None,
            read_timeout_seconds=endpoint.timeout_s,
        )
    return StreamableHttpServerParams(
        url=endpoint.url or "",
        headers=dict(endpoint.headers),
        timeout=endpoint.timeout_s,
        sse_read_timeout=endpoint.timeout_s,
    )


class PlantMcpWorkbench(McpWorkbench):
    """``McpWorkbench`` on a role's MCP server, calls in the model's order (module docstring)."""

    def __init__(self, endpoint: McpEndpoint, plant: PlantWorkbench) -> None:
        super().__init__(server_params(endpoint))
        self.plant = plant

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> ToolResult:
        async with self.plant.order:
            return await super().call_tool(name, arguments, cancellation_token, call_id)

    async def answer_unrunnable(self, call: FunctionCall) -> FunctionExecutionResult | None:
        """The executor's answer to a call AgentChat cannot run (in-process), else None."""
        return await self.plant.answer_unrunnable(call)
