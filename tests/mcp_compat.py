"""What the MCP tests need from either ``mcp`` major (1.x in the main environment, 2.x in
``.af-venv``): agentrig's own compat functions, plus the few shapes only tests build."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from mcp import ClientSession

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.mcp.compat import (
    MCP_ERROR,
    MCP_MAJOR,
    mcp_read_timeout,
    mcp_streams,
    result_is_error,
    tool_input_schema,
)

__all__ = [
    "HTTP_ERRORS",
    "MCP_ERROR",
    "MCP_MAJOR",
    "client_session",
    "mcp_error",
    "result_is_error",
    "tool_input_schema",
]


def _http_errors() -> tuple[type[Exception], ...]:
    try:
        import httpx2  # mcp 2.x's HTTP client
    except ImportError:
        return (httpx.HTTPError,)
    return (httpx.HTTPError, httpx2.HTTPError)


HTTP_ERRORS = _http_errors()
"""What a client's HTTP layer raises when its server goes away."""


def mcp_error(message: str, code: int = -32001) -> Exception:
    """The SDK's protocol error with ``message`` (1.x takes an ``ErrorData``, 2.x the fields)."""
    if MCP_MAJOR < 2:
        from mcp.types import ErrorData

        return MCP_ERROR(ErrorData(code=code, message=message))  # type: ignore[call-arg]
    error_class: Any = MCP_ERROR
    return error_class(code=code, message=message)  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def client_session(url: str, timeout_s: float = 30.0) -> AsyncIterator[ClientSession]:
    """An initialised SDK ``ClientSession`` on a streamable HTTP ``url``."""
    endpoint = McpEndpoint(transport="streamable_http", url=url, timeout_s=timeout_s)
    async with (
        mcp_streams(endpoint) as (read, write),
        ClientSession(read, write, read_timeout_seconds=mcp_read_timeout(timeout_s)) as session,
    ):
        await session.initialize()
        yield session
