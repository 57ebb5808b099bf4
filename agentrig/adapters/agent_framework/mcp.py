"""A role's plant tools from its MCP server, through Agent Framework's own MCP client.

``agent_framework.MCPStreamableHTTPTool`` (``MCPStdioTool`` for stdio) in the role agent's
``tools``: the agent connects it when its run starts, lists the server's tools and turns each
into a ``FunctionTool`` whose function calls the server. The adapter's
:class:`~agentrig.adapters.agent_framework.client.PlantChatClient` keeps
``allow_concurrent_invocation=False``, so the calls of one response apply in the model's order.

Settings, and why (docs/mcp.md): ``load_prompts=False`` (the plant serves no prompts);
``approval_mode="never_require"`` (the framework's default asks for nothing either, said
explicitly: these tools act on a plant); ``request_timeout`` is the endpoint's timeout rounded
up to whole seconds -- Agent Framework takes an ``int`` (a 0.5 s endpoint gives up after 1 s).

The calls Agent Framework answers itself -- a tool the role lacks, arguments that are not JSON
or that fail its lightweight check against the listed schema (a wrong type; a value out of range
passes and the server's executor refuses it) -- reach the executor in-process, as with native
tools (``tools.role_tools_over_mcp``, ``client.PlantChatClient``).

**Needs mcp>=2.2** (docs/mcp.md, Findings): agent-framework-core 1.23's ``_mcp.py`` imports
``mcp.Client`` to connect and ``mcp.MCPError`` on every call, while crewai 1.15, fastmcp 3.4
(Pydantic AI's client), langchain-mcp-adapters 0.3 and the OpenAI Agents SDK need ``mcp<2``. So
Agent Framework over MCP runs in its own environment (``constraints-af-mcp.txt``, ``make
test-af-mcp``: ``.af-venv``); in the main one :func:`mcp_tool` says so in one line (a ``config``
error) instead of letting the run fail inside the framework with ``cannot import name 'Client'
from 'mcp'``.
"""

from __future__ import annotations

import math
from importlib.metadata import version

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import ConfigurationError, MissingExtraError

disable_phone_home()

try:
    import mcp
    from agent_framework import MCPStdioTool, MCPStreamableHTTPTool
    from agent_framework._mcp import MCPTool
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError(
        "the Agent Framework adapter with --tools mcp", "agent-framework"
    ) from error

__all__ = ["mcp_client_available", "mcp_tool"]


def mcp_client_available() -> bool:
    """Whether the installed ``mcp`` has what Agent Framework's MCP tools import (``mcp>=2.2``)."""
    return hasattr(mcp, "Client") and hasattr(mcp, "MCPError")


def mcp_tool(endpoint: McpEndpoint, name: str) -> MCPTool:
    """Agent Framework's MCP tool on ``endpoint`` (not connected: the agent's run connects it).

    Raises:
        ConfigurationError: the installed ``mcp`` is older than Agent Framework's MCP tools need.
    """
    if not mcp_client_available():
        raise ConfigurationError(
            f"Agent Framework {version('agent-framework-core')} takes MCP tools only with "
            f"mcp>=2.2 (its _mcp.py imports mcp.Client and mcp.MCPError); this environment has "
            f"mcp {version('mcp')}, which crewai, pydantic-ai, openai-agents and "
            "langchain-mcp-adapters need below 2: run agent-framework with --tools native here, "
            "or over MCP in an environment of its own (constraints-af-mcp.txt, make test-af-mcp)"
        )
    timeout = max(1, math.ceil(endpoint.timeout_s))
    if endpoint.transport == "stdio":
        return MCPStdioTool(
            name,
            endpoint.command or "agentrig",
            args=list(endpoint.args),
            env=dict(endpoint.env) if endpoint.env is not None else None,
            load_prompts=False,
            approval_mode="never_require",
            request_timeout=timeout,
        )
    return MCPStreamableHTTPTool(
        name,
        endpoint.url or "",
        static_headers=dict(endpoint.headers),
        load_prompts=False,
        approval_mode="never_require",
        request_timeout=timeout,
    )
