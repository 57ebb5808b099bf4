"""A role's plant tools from its MCP server, through CrewAI's own MCP support (``Agent(mcps=...)``).

CrewAI resolves an agent's ``mcps`` when it executes a task (``crewai/mcp/tool_resolver.py``):
it lists the server's tools with a discovery client and wraps each as an ``MCPNativeTool`` that
opens a *new* client session for every call (``crewai/tools/mcp_native_tool.py``). What differs
from native tools, measured rather than patched (docs/mcp.md):

- tool names are prefixed with a name CrewAI derives from the server URL, host and port included
  (``mcp_127_0_0_1_PORT_mcp_operator_check_device_status``), so the model sees other names than
  in a native run, and they change with the port;
- the argument schema is rebuilt from the ``inputSchema`` into a pydantic model by CrewAI;
- a call's timeout is CrewAI's ``MCP_TOOL_EXECUTION_TIMEOUT`` (30 s), not the endpoint's: no
  ``MCPServerHTTP`` field sets it;
- CrewAI answers itself the calls it cannot run (a tool the agent lacks, arguments that are not
  JSON): its MCP tools are not agentrig's ``PlantTool``, so those calls do not reach the executor.
"""

from __future__ import annotations

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from crewai.mcp import MCPServerHTTP, MCPServerStdio
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the CrewAI adapter with --tools mcp", "crewai") from error

__all__ = ["mcp_server"]


def mcp_server(endpoint: McpEndpoint) -> MCPServerHTTP | MCPServerStdio:
    """CrewAI's server config for ``endpoint``."""
    if endpoint.transport == "stdio":
        return MCPServerStdio(
            command=endpoint.command or "agentrig",
            args=list(endpoint.args),
            env=dict(endpoint.env) if endpoint.env is not None else None,
        )
    return MCPServerHTTP(url=endpoint.url or "", headers=dict(endpoint.headers), streamable=True)
