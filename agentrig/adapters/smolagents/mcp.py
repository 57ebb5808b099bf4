"""A role's plant tools from its MCP server, through smolagents' own MCP client.

``smolagents.MCPClient`` (mcpadapt's ``MCPAdapt`` with its ``SmolAgentsAdapter``): it runs the MCP
session on an event loop of its own, in a thread of its own, and turns each server tool into a
smolagents ``Tool`` whose ``forward`` waits for the call there. Connecting blocks, and the run's
MCP server is served on the run's event loop, so :func:`open_mcp_tools` is called off that loop
(the adapter runs it in a thread, as it runs the agent).

The role's :class:`~agentrig.adapters.smolagents.agent.RoleAgent` still runs the calls of one
reply one after another in the model's order, and sends the calls no MCP request can carry
(arguments that are not a JSON object, a tool the role lacks) to the executor in-process.

Settings, and why (docs/mcp.md): ``structured_output=False`` (the tool's text, as natively;
smolagents warns when it is not given); ``client_session_timeout_seconds`` is the endpoint's
timeout (mcpadapt's default is 5 s, and it ignores a value that is not a ``float``), and so is
``connect_timeout`` in whole seconds (its default: 30). A result with
``isError: true`` reaches the model as its text: mcpadapt drops the flag.

When the session is not up within ``connect_timeout``, mcpadapt (0.1.x) raises from its
``start()`` and leaves its thread connecting and its event loop open: the thread dies later with
whatever the connection does then (seen: ``httpx.RemoteProtocolError`` when the server goes
away), and the loop and its sockets are left to the garbage collector. :class:`_MCPClient` closes
the adapter on that path (cancels the connect, joins the thread, closes the loop).
"""

from __future__ import annotations

import math
from typing import Any

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before smolagents (and huggingface_hub) is imported
try:
    from mcp import StdioServerParameters
    from mcp.shared.exceptions import McpError
    from mcp.types import ErrorData
    from smolagents import MCPClient
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the smolagents adapter with --tools mcp", "smolagents") from error

__all__ = ["open_mcp_tools"]


class _MCPClient(MCPClient):  # type: ignore[misc]
    """smolagents' client, whose failed connect leaves nothing running behind it."""

    def connect(self) -> None:
        try:
            super().connect()
        except TimeoutError:
            self._adapter.close()  # mcpadapt's own cleanup: cancel, join the thread, close the loop
            raise


_REQUEST_TIMEOUT = 408
"""The code the MCP SDK gives its own request timeouts (``httpx.codes.REQUEST_TIMEOUT``)."""


def open_mcp_tools(endpoint: McpEndpoint) -> MCPClient:
    """smolagents' MCP client on ``endpoint``, connected (blocks: call it off the event loop
    that serves the endpoint); ``get_tools()`` are the role's tools, ``disconnect()`` ends it.

    Raises:
        McpError: the session was not up within mcpadapt's connect timeout (a ``timeout``
            failure of the run, not the run's own ``--timeout``).
    """
    server: Any
    if endpoint.transport == "stdio":
        server = StdioServerParameters(
            command=endpoint.command or "agentrig",
            args=list(endpoint.args),
            env=dict(endpoint.env) if endpoint.env is not None else None,
        )
    else:
        server = {
            "url": endpoint.url or "",
            "transport": "streamable-http",
            "headers": dict(endpoint.headers),
            "timeout": endpoint.timeout_s,
        }
    try:
        return _MCPClient(
            server,
            adapter_kwargs={
                "client_session_timeout_seconds": float(endpoint.timeout_s),
                "connect_timeout": max(1, math.ceil(endpoint.timeout_s)),
            },
            structured_output=False,
        )
    except TimeoutError as error:
        # mcpadapt raises the builtin TimeoutError when the session is not up within its
        # connect_timeout; the runner would take that for the run's own --timeout.
        where = endpoint.url or endpoint.command or "the MCP server"
        message = f"Timed out while connecting to {where}: {error}"
        raise McpError(ErrorData(code=_REQUEST_TIMEOUT, message=message)) from error
