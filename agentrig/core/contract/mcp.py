"""Where a role's plant tools are served over MCP: what an adapter's MCP client connects to.

With ``--tools mcp`` the runner serves the run's tools as one MCP server per role (``agentrig mcp
serve`` does the same standalone) and hands each adapter a :class:`McpEndpoint` per role in
:attr:`RunContext.mcp <agentrig.core.contract.agent.RunContext.mcp>`. An adapter that takes its
tools over MCP says so with ``supports_mcp = True`` and connects with its framework's *own* MCP
client; ``docs/mcp.md`` shows how for each framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["McpEndpoint", "ToolsMode", "mcp_requests_match_native", "supports_mcp"]

ToolsMode = Literal["native", "mcp"]
"""How an adapter gets the plant's tools: bound in-process (``native``) or from an MCP server."""


@dataclass(frozen=True)
class McpEndpoint:
    """One role's MCP server.

    Attributes:
        transport: ``streamable_http`` (``url``, ``headers``) or ``stdio`` (``command``, ``args``,
            ``env``: the client starts the server as a subprocess).
        url: the streamable HTTP endpoint, e.g. ``http://127.0.0.1:52011/mcp/operator``.
        headers: HTTP headers every request must carry (``Authorization: Bearer ...``).
        command: the stdio server's program (``agentrig``).
        args: its arguments (``mcp serve --transport stdio --run-id ... --role ...``).
        env: its environment (None: the client's default).
        timeout_s: how long the client waits for one tool call before giving up.
    """

    transport: Literal["streamable_http", "stdio"]
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    timeout_s: float = 30.0


def supports_mcp(adapter: object) -> bool:
    """Whether ``adapter`` takes its tools from :attr:`RunContext.mcp` (``supports_mcp = True``)."""
    return bool(getattr(adapter, "supports_mcp", False))


def mcp_requests_match_native(adapter: object) -> bool:
    """Whether ``adapter``'s model requests are byte-for-byte the native ones with MCP tools
    (``mcp_requests_match_native = True``, pinned by a test): its MCP runs then replay the native
    cassettes; the others record their own under ``<framework>-mcp/``."""
    return bool(getattr(adapter, "mcp_requests_match_native", False))
