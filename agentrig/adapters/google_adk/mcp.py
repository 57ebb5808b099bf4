"""A role's plant tools from its MCP server, through Google ADK's own MCP client.

``google.adk.tools.mcp_tool.McpToolset`` on the role's endpoint (``StreamableHTTPConnectionParams``,
or ``StdioConnectionParams`` for stdio) is the role ``LlmAgent``'s toolset in place of the native
:class:`~agentrig.adapters.google_adk.adapter.PlantTool`\\ s; ADK lists the server's tools, wraps
each in an ``McpTool`` and calls ``session.call_tool`` on its pooled session. What the native path
does still holds, through ADK's tool callbacks (the adapter's ``_role_agent``):

- the calls of one model response apply in the model's order: ADK starts them together, and
  :class:`CallOrder` holds the run's order lock from a call's before-tool callback to its
  after-tool (or error) callback -- ADK 2.13 runs the error callbacks on a cancelled call too,
  "so what a before-tool callback set up can be released" (``flows/llm_flows/tools/_caller.py``);
- the calls ADK would answer itself (a tool the role lacks) and those no MCP request can carry
  (arguments that are not JSON, kept by the adapter's one patch) go to the executor in-process.

Settings, and why (docs/mcp.md): ``timeout`` and ``sse_read_timeout`` are the endpoint's timeout
(ADK's defaults: 5 s to connect, 300 s to read; for HTTP the session's read timeout is
``sse_read_timeout``, for stdio ``timeout``); ``tool_list_cache_ttl_seconds`` because the catalogue
does not change during a run and ADK would otherwise list the tools again before every model call.

What ADK does on its own, measured and not patched (docs/mcp.md, Findings): an ``McpTool`` hands
the model the whole ``CallToolResult`` (``{"content": [...], "isError": ...}``) as the function
response; it fences every MCP tool's description in untrusted-content markers and adds a preamble
to the instruction; a failed hop (timeout, lost session) becomes ``{"error": ...}`` for the model.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from google.adk.tools.mcp_tool import (
        McpToolset,
        StdioConnectionParams,
        StreamableHTTPConnectionParams,
    )
    from mcp import StdioServerParameters
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the Google ADK adapter with --tools mcp", "google-adk") from error

__all__ = ["CATALOGUE_TTL_S", "CallOrder", "mcp_toolset"]

CATALOGUE_TTL_S = 24 * 3600.0
"""How long ADK may reuse a role's ``tools/list``: longer than any run (the catalogue is fixed)."""


def mcp_toolset(endpoint: McpEndpoint) -> McpToolset:
    """ADK's toolset on ``endpoint`` (it connects on the agent's first model call; the
    ``Runner``'s ``close()`` closes it)."""
    params: StdioConnectionParams | StreamableHTTPConnectionParams
    if endpoint.transport == "stdio":
        params = StdioConnectionParams(
            server_params=StdioServerParameters(
                command=endpoint.command or "agentrig",
                args=list(endpoint.args),
                env=dict(endpoint.env) if endpoint.env is not None else None,
            ),
            timeout=endpoint.timeout_s,
        )
    else:
        params = StreamableHTTPConnectionParams(
            url=endpoint.url or "",
            headers=dict(endpoint.headers),
            timeout=endpoint.timeout_s,
            sse_read_timeout=endpoint.timeout_s,
        )
    return McpToolset(connection_params=params, tool_list_cache_ttl_seconds=CATALOGUE_TTL_S)


class CallOrder:
    """The run's order lock, held from an MCP call's before-tool callback to its end.

    ADK gives each call one ``ToolContext`` through all its callbacks; a call is known by it, so
    an after-tool callback of a call that never took the lock (one answered in-process) releases
    nothing.
    """

    def __init__(self, order: asyncio.Lock) -> None:
        self.order = order
        self._holding: set[int] = set()

    async def hold(self, tool_context: Any) -> None:
        """Wait for the calls started before this one, then hold the lock for it."""
        await self.order.acquire()
        self._holding.add(id(tool_context))

    def release(self, tool_context: Any) -> None:
        """Let the next call through, if this one holds the lock."""
        if id(tool_context) in self._holding:
            self._holding.discard(id(tool_context))
            self.order.release()
