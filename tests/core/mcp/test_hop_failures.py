"""A run broken on the MCP hop is categorised: the client's timeout, or the lost server."""

from __future__ import annotations

import httpx
import pytest

from agentrig.core.runner.failures import explain_failure, mcp_hop_failure
from tests.mcp_compat import MCP_ERROR, mcp_error


def test_a_client_timeout_inside_a_task_group_is_a_timeout() -> None:
    error = ExceptionGroup(
        "unhandled errors in a TaskGroup", [mcp_error("Timed out while waiting")]
    )
    failure = explain_failure(framework="langchain", error=error)
    assert failure.category == "timeout"
    assert failure.detail.startswith("LangChain's MCP client gave up on a tool call")


def test_mcp_2s_timeout_message_is_a_timeout() -> None:
    # mcp 2.x (shared/jsonrpc_dispatcher.py) says "Request 'tools/call' timed out"; 1.x said
    # "Timed out while waiting for response to ClientRequest...".
    failure = mcp_hop_failure(
        "Agent Framework", mcp_error("Request 'tools/call' timed out", -32001)
    )
    assert failure is not None
    assert (failure.category, failure.detail) == (
        "timeout",
        "Agent Framework's MCP client gave up on a tool call: Request 'tools/call' timed out",
    )


def test_a_lost_session_or_server_is_interop() -> None:
    try:
        raise RuntimeError("tool failed") from mcp_error("Session terminated")
    except RuntimeError as error:
        failure = explain_failure(framework="plain", error=error)
    assert failure.category == "interop"
    assert f"lost the MCP tool server ({MCP_ERROR.__name__}): Session terminated" in failure.detail
    request = httpx.Request("POST", "http://127.0.0.1:1/mcp/operator")
    refused = httpx.ConnectError("connection refused", request=request)
    assert (mcp_hop_failure("AutoGen", refused) or explain_failure).category == "interop"  # type: ignore[union-attr]


def test_httpx2_transport_errors_are_the_hop_too() -> None:
    # mcp 2.x's streamable HTTP client runs on httpx2 (httpx's fork), whose errors are not httpx's.
    httpx2 = pytest.importorskip("httpx2")
    request = httpx2.Request("POST", "http://127.0.0.1:1/mcp/operator")
    failure = mcp_hop_failure("plain", httpx2.ConnectError("connection refused", request=request))
    assert failure is not None
    assert failure.category == "interop"
    model = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    assert mcp_hop_failure("plain", httpx2.ConnectError("refused", request=model)) is None


def test_other_errors_are_not_the_hop() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    assert mcp_hop_failure("plain", httpx.ConnectError("refused", request=request)) is None
    assert mcp_hop_failure("plain", ValueError("nothing to do with MCP")) is None
