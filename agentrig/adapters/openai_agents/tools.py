"""The plant's tools for the OpenAI Agents SDK: one ``FunctionTool`` per tool, in the model's order.

Every call an agent makes reaches the plant's executor through :func:`plant_tool` -- the arguments
as the model sent them (the executor validates them and records a bad call like any other), the
SDK's tool-call id as the idempotency key. The SDK hands a ``FunctionTool`` the raw argument
text, so arguments that are not JSON reach the executor without help; a tool the role does not
have is another matter (the SDK raises ``ModelBehaviorError``), see :mod:`.patches`, which asks
:meth:`PlantAgent.stray_tool` for a tool that hands such a call to the executor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentrig.core.contract.agent import BoundTool
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import Role
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()

try:
    from agents import Agent, FunctionTool, RunContextWrapper, Tool
    from agents.tool_context import ToolContext
except ImportError as error:
    raise MissingExtraError("the OpenAI Agents adapter", "openai-agents") from error

__all__ = ["PlantAgent", "RunGuard", "plant_tool"]


class RunGuard:
    """One run's tool-call order and the first error a tool hit.

    The SDK runs the calls of one model response as concurrent tasks, started in the model's
    order; ``order`` (an ``asyncio.Lock``, first come first served) applies them one at a time in
    that order -- an operator's "open the valve; restart the pump" must not run the other way
    round. The SDK wraps a tool's exception in ``UserError("Error running tool ...")``; the
    guard keeps the original so the adapter raises it.
    """

    def __init__(self) -> None:
        self.order = asyncio.Lock()
        self.failure: BaseException | None = None

    def record(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error


def plant_tool(tool: BoundTool, guard: RunGuard) -> FunctionTool:
    """``tool`` as an SDK ``FunctionTool`` with the catalogue's strict schema."""

    async def invoke(context: ToolContext[Any], arguments: str) -> str:
        async with guard.order:
            try:
                return await tool.acall(arguments, call_id=context.tool_call_id)
            except Exception as error:  # the plant is unusable: the run fails with it
                guard.record(error)
                raise

    return FunctionTool(
        name=tool.name,
        description=tool.description,
        params_json_schema=tool.parameters(),
        on_invoke_tool=invoke,
        strict_json_schema=True,
    )


@dataclass
class PlantAgent(Agent[Any]):
    """An ``Agent`` for one role that knows its plant tools, so a stray call reaches the executor.

    Build it with :meth:`for_role`. A dataclass like ``Agent`` itself, so the SDK's ``clone()``
    keeps the extra fields.
    """

    plant_tools: list[BoundTool] = field(default_factory=list)
    guard: RunGuard = field(default_factory=RunGuard)

    @classmethod
    def for_role(
        cls, role: Role, bound: Sequence[BoundTool], guard: RunGuard, **options: Any
    ) -> PlantAgent:
        """The agent ``role`` with ``bound`` as its tools and the SDK ``options`` given.

        Raises:
            AdapterError: the role has no tools (every role of the workflow has some).
        """
        if not bound:
            raise AdapterError(f"the OpenAI Agents {role} agent needs at least one plant tool")
        return cls(
            name=role,
            tools=[plant_tool(tool, guard) for tool in bound],
            plant_tools=list(bound),
            guard=guard,
            **options,
        )

    async def get_mcp_tools(self, run_context: RunContextWrapper[Any]) -> list[Tool]:
        """The SDK's tools for this agent's MCP servers (``--tools mcp``), each sending
        arguments that are not a JSON object to the executor in-process: no MCP request can
        carry them, and the SDK would answer them itself (``ModelBehaviorError``)."""
        tools = await super().get_mcp_tools(run_context)
        bound = {tool.name: tool for tool in self.plant_tools}
        return [
            _json_objects_over_mcp(tool, bound[tool.name], self.guard)
            if isinstance(tool, FunctionTool) and tool.name in bound
            else tool
            for tool in tools
        ]

    def stray_tool(self, name: str) -> FunctionTool:
        """A tool answering a call to ``name``, which this role does not have, via the executor.

        The executor answers it (unknown tool, or not allowed for the role) under a key it
        derives, as in the plain baseline, so the model learns why and the mistake is recorded.
        """
        bound = self.plant_tools[0]
        guard = self.guard

        async def invoke(context: ToolContext[Any], arguments: str) -> str:
            async with guard.order:
                try:
                    result = await bound.executor.call(name, arguments, role=bound.role)
                except Exception as error:
                    guard.record(error)
                    raise
            return result.to_text()

        return FunctionTool(
            name=name,
            description="not one of this role's tools",
            params_json_schema={"type": "object", "properties": {}},
            on_invoke_tool=invoke,
            strict_json_schema=False,
        )


def _json_objects_over_mcp(tool: FunctionTool, bound: BoundTool, guard: RunGuard) -> FunctionTool:
    """``tool`` (an MCP tool), with arguments that are not a JSON object sent to ``bound``."""
    over_mcp = tool.on_invoke_tool

    async def invoke(context: ToolContext[Any], arguments: str) -> Any:
        if _is_json_object(arguments):
            return await over_mcp(context, arguments)
        async with guard.order:
            try:
                return await bound.acall(arguments, call_id=context.tool_call_id)
            except Exception as error:  # the plant is unusable: the run fails with it
                guard.record(error)
                raise

    return dataclasses.replace(tool, on_invoke_tool=invoke)


def _is_json_object(arguments: str) -> bool:
    if not arguments:
        return True  # the SDK sends {} for no arguments
    try:
        return isinstance(json.loads(arguments), dict)
    except ValueError:
        return False
