"""A role's plant tools from its MCP server, through LangChain's own MCP client.

``langchain-mcp-adapters``: one session per role (``sessions.create_session``), its tools converted
by ``load_mcp_tools`` into LangChain tools the agent calls like its native ones. What differs from
native tools, and is measured rather than patched (docs/mcp.md):

- the tool result reaches the model as a list of content blocks (``[{"type": "text", ...}]``),
  not a string, so the model request differs in shape from a native run's;
- a result with ``isError: true`` (an invalid argument, an interlock refusal) becomes a
  ``ToolMessage`` with ``status="error"`` (``handle_tool_errors=True``, the library's default);
- the model's tool-call id does not travel over MCP, so the executor derives the idempotency key.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.exceptions import MissingExtraError

try:
    from langchain_core.tools import BaseTool
    from langchain_mcp_adapters.sessions import Connection, create_session
    from langchain_mcp_adapters.tools import load_mcp_tools
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangChain adapter with --tools mcp", "langchain") from error

__all__ = ["connection_for", "mcp_tools"]


def connection_for(endpoint: McpEndpoint) -> Connection:
    """The ``langchain-mcp-adapters`` connection of ``endpoint``."""
    timeout = timedelta(seconds=endpoint.timeout_s)
    session_kwargs: dict[str, Any] = {"read_timeout_seconds": timeout}
    if endpoint.transport == "stdio":
        return {
            "transport": "stdio",
            "command": endpoint.command or "agentrig",
            "args": list(endpoint.args),
            "env": dict(endpoint.env) if endpoint.env is not None else None,
            "session_kwargs": session_kwargs,
        }
    return {
        "transport": "streamable_http",
        "url": endpoint.url or "",
        "headers": dict(endpoint.headers),
        "timeout": timeout,
        "session_kwargs": session_kwargs,
    }


@contextlib.asynccontextmanager
async def mcp_tools(endpoint: McpEndpoint) -> AsyncIterator[list[BaseTool]]:
    """The role's tools, usable while the block runs (their session closes after it)."""
    async with create_session(connection_for(endpoint)) as session:
        await session.initialize()
        yield await load_mcp_tools(session)
