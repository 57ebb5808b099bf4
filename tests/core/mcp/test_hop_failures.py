"""A run broken on the MCP hop is categorised: the client's timeout, or the lost server."""

from __future__ import annotations

import httpx
from mcp.shared.exceptions import McpError
from mcp.types import ErrorData

from agentrig.core.runner.failures import explain_failure, mcp_hop_failure


def _mcp_error(message: str) -> McpError:
    return McpError(ErrorData(code=-32001, message=message))


def test_a_client_timeout_inside_a_task_group_is_a_timeout() -> None:
    error = ExceptionGroup(
        "unhandled errors in a TaskGroup", [_mcp_error("Timed out while waiting")]
    )
    failure = explain_failure(framework="langchain", error=error)
    assert failure.category == "timeout"
    assert failure.detail.startswith("LangChain's MCP client gave up on a tool call")


def test_a_lost_session_or_server_is_interop() -> None:
    try:
        raise RuntimeError("tool failed") from _mcp_error("Session terminated")
    except RuntimeError as error:
        failure = explain_failure(framework="plain", error=error)
    assert failure.category == "interop"
    assert "lost the MCP tool server (McpError): Session terminated" in failure.detail
    request = httpx.Request("POST", "http://127.0.0.1:1/mcp/operator")
    refused = httpx.ConnectError("connection refused", request=request)
    assert (mcp_hop_failure("AutoGen", refused) or explain_failure).category == "interop"  # type: ignore[union-attr]


def test_other_errors_are_not_the_hop() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    assert mcp_hop_failure("plain", httpx.ConnectError("refused", request=request)) is None
    assert mcp_hop_failure("plain", ValueError("nothing to do with MCP")) is None
