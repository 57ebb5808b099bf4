"""The plant's tool catalogue as MCP servers: one per role, every call through the run's executor.

:class:`PlantToolService` is what a served tool call does: it opens the hop's own span
(``mcp.server tools/call {tool}``, kind SERVER), and inside it calls the run's one
:class:`~agentrig.core.plant.executor.ToolExecutor` -- so validation, interlocks, the idempotency
ledger and the telemetry hook (``execute_tool``, the tool metrics) are exactly those of a native
call, the ``execute_tool`` span now a child of the hop's span. :func:`role_server` builds a
low-level MCP ``Server`` listing one role's tools with the catalogue's own JSON schemas.

What a caller may rely on:

- The listed ``inputSchema`` of each tool is :meth:`ToolSpec.json_schema` unchanged, so a
  framework building its model request from it sends the model the same tool definitions as
  with native tools (``docs/mcp.md``, cassettes).
- The server does not validate arguments itself (``validate_input=False``): the executor does,
  and records an invalid call in the ledger with the same error text a native call gets.
- A tool call always answers with the executor's result text (one JSON object) as a single text
  block; a result that is not ``ok`` (an invalid argument, an interlock refusal, an unknown
  device) has ``isError: true``, as the MCP specification asks of tool execution errors.
- A plant that is unusable (no plant for the run, the store down): the executor raises, its hook
  records the call with outcome ``error``, and the server answers ``isError: true`` with the
  exception's text, on mcp 1.x and 2.x alike (:func:`~agentrig.core.mcp.compat.low_level_server`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import structlog
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentrig.core.contract.roles import Role
from agentrig.core.mcp.compat import low_level_server
from agentrig.core.plant.executor import ToolExecutor
from agentrig.core.plant.results import ToolResult
from agentrig.core.plant.tools import tools_for_role
from agentrig.exceptions import MissingExtraError

try:
    from mcp import types
    from mcp.server.lowlevel import Server
except ImportError as error:
    raise MissingExtraError("the MCP server (agentrig mcp serve, --tools mcp)", "mcp") from error

__all__ = ["SERVER_NAME", "HopTelemetry", "PlantToolService", "role_server"]

logger = structlog.get_logger(__name__)

SERVER_NAME = "agentrig-plant"
"""The MCP server name every client sees (one server per role, each its own endpoint)."""

SPAN_PREFIX = "mcp.server tools/call"


class HopTelemetry(Protocol):
    """What the service needs of a run's telemetry to put the hop's span in the run's trace.

    :class:`~agentrig.core.telemetry.facade.Telemetry` is one: ``bind`` labels the block with the
    run, and ``agent_spans`` holds each role's ``invoke_agent`` span while that role works.
    """

    @property
    def tracer(self) -> trace.Tracer: ...

    @property
    def agent_spans(self) -> Mapping[str, Span]: ...

    def bind(self) -> Any: ...


class PlantToolService:
    """Serves one run's tool calls: the hop's span, then the executor.

    Args:
        executor: the run's executor (its hooks record spans, metrics and the run's actions).
        telemetry: the run's telemetry when the server runs in the runner's process (``compare
            --tools mcp``): the hop's span is then a child of the calling role's
            ``invoke_agent`` span. None (``agentrig mcp serve``): the span is a root of its own.
    """

    def __init__(self, executor: ToolExecutor, telemetry: HopTelemetry | None = None) -> None:
        self.executor = executor
        self.telemetry = telemetry
        self.calls = 0
        """Tool calls served so far (every role)."""
        self.hop_seconds = 0.0
        """Time spent serving them, executor included."""
        self.delay_s = 0.0
        """A pause before each call reaches the executor: a slow tool, for probing clients'
        timeouts (``agentrig.testing.mcp_probe``); 0 in every run."""

    @contextmanager
    def _span(self, role: Role, tool: str) -> Iterator[Span]:
        attributes = {
            "rpc.system": "jsonrpc",
            "mcp.method.name": "tools/call",
            "gen_ai.tool.name": tool,
            "agentrig.role": role,
            "agentrig.run_id": self.executor.run_id,
        }
        if self.telemetry is None:
            tracer = trace.get_tracer(__name__)
            with tracer.start_as_current_span(
                f"{SPAN_PREFIX} {tool}", kind=SpanKind.SERVER, attributes=attributes
            ) as span:
                yield span
            return
        parent = self.telemetry.agent_spans.get(role)
        context = trace.set_span_in_context(parent) if parent is not None else None
        with (
            self.telemetry.bind(),
            self.telemetry.tracer.start_as_current_span(
                f"{SPAN_PREFIX} {tool}",
                context=context,
                kind=SpanKind.SERVER,
                attributes=attributes,
            ) as span,
        ):
            yield span

    async def call(self, role: Role, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call for ``role`` inside the hop's span; raises only for an unusable plant."""
        clock = time.perf_counter()
        with self._span(role, tool) as span:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            try:
                result = await self.executor.call(tool, dict(arguments), role=role)
            finally:
                self.calls += 1
                self.hop_seconds += time.perf_counter() - clock
            if not result.ok:
                span.set_attribute("error.type", "tool_error")
                span.set_status(Status(StatusCode.ERROR, result.error or "the call failed"))
            return result


def _tool(spec_name: str, description: str, schema: dict[str, Any]) -> types.Tool:
    return types.Tool(name=spec_name, description=description, inputSchema=schema)


def role_server(role: Role, service: PlantToolService) -> Server[Any, Any]:
    """A low-level MCP server listing ``role``'s tools, each call served by ``service``."""
    listed = [_tool(s.name, s.description, s.json_schema()) for s in tools_for_role(role)]

    # Not validated here: the executor validates, records the invalid call and answers with the
    # error text native tools give (module docstring).
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        result = await service.call(role, name, arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.to_text())],
            isError=not result.ok,
        )

    return low_level_server(
        SERVER_NAME,
        f"The {role}'s tools of the agentrig plant of run {service.executor.run_id}.",
        listed,
        call_tool,
    )
