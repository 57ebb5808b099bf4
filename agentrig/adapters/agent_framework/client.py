"""Agent Framework's OpenAI Chat Completions client, with every tool call reaching the executor.

:class:`PlantChatClient` is ``agent_framework.openai.OpenAIChatCompletionClient`` (Agent
Framework's own client, its function-invocation loop, telemetry and middleware layers) with one
private method overridden: ``_get_response_with_function_invocation`` is handed the loop's
executor of a reply's tool calls, which it wraps so the calls Agent Framework would answer itself
(an unknown tool, arguments that are not JSON or that its validation rejects) go to the plant's
executor instead, in the model's order among the others -- over MCP too, where they reach the
role's in-process tools (``tools.role_tools_over_mcp``). See ``patches.INTERNALS``.

Public settings do the rest: ``allow_concurrent_invocation=False`` (a reply's calls apply in the
model's order; the plant's clock makes order matter) and ``max_iterations`` (the role's turns).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agentrig.adapters.agent_framework.tools import (
    PlantFunctionTool,
    answer_unrunnable,
    mcp_role_tools,
    runnable_by_framework,
)
from agentrig.core.contract.agent import BoundTool
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before Agent Framework is imported: it reads its opt-outs then

try:
    from agent_framework import Content, FunctionTool
    from agent_framework._tools import _FunctionExecutionBatch
    from agent_framework.openai import OpenAIChatCompletionClient
    from openai import AsyncOpenAI
except ImportError as error:
    raise MissingExtraError("the Agent Framework adapter", "agent-framework") from error

__all__ = ["PlantChatClient", "max_iterations_for"]

ExecuteCalls = Callable[..., Awaitable[_FunctionExecutionBatch]]


def max_iterations_for(max_turns_per_role: int) -> int:
    """Agent Framework's ``max_iterations`` for a role allowed ``max_turns_per_role`` model calls.

    Its loop makes up to ``max_iterations`` calls offering tools, then one more with
    ``tool_choice="none"`` for the answer; it refuses fewer than one iteration, so a role
    allowed one turn makes two calls (as in AutoGen).
    """
    return max(1, max_turns_per_role - 1)


class PlantChatClient(OpenAIChatCompletionClient):
    """``OpenAIChatCompletionClient`` over one ``AsyncOpenAI``; unrunnable calls go to the plant.

    Args:
        openai_client: the ``AsyncOpenAI`` client it sends through (closed by :meth:`close`).
        model: the model id.
        max_iterations: Agent Framework's tool-loop iterations (:func:`max_iterations_for`).
    """

    def __init__(self, openai_client: AsyncOpenAI, model: str, *, max_iterations: int) -> None:
        super().__init__(
            model=model,
            async_client=openai_client,
            function_invocation_configuration={
                "max_iterations": max_iterations,
                "allow_concurrent_invocation": False,
            },
        )
        self.openai_client = openai_client

    async def close(self) -> None:
        """Close the ``AsyncOpenAI`` client (its connection pool belongs to one event loop)."""
        await self.openai_client.close()

    async def _get_response_with_function_invocation(
        self, *, execute_function_calls: ExecuteCalls, **options: Any
    ) -> Any:
        # Agent Framework answers unknown tools and arguments it cannot validate itself,
        # without calling any tool; the plant's executor must record those calls too.
        async def execute(
            *, function_calls: list[Content], options: dict[str, Any] | None
        ) -> _FunctionExecutionBatch:
            tools, bound = _tools_of(options)
            if not bound or all(runnable_by_framework(call, tools) for call in function_calls):
                return await execute_function_calls(function_calls=function_calls, options=options)
            groups: list[list[Content]] = []
            terminate = False
            for call in function_calls:  # one at a time, in the model's order
                if call.type == "function_call" and not runnable_by_framework(call, tools):
                    groups.append([await answer_unrunnable(call, bound)])
                    continue
                batch = await execute_function_calls(function_calls=[call], options=options)
                groups.extend(batch.result_groups)
                terminate = terminate or batch.should_terminate
            return _FunctionExecutionBatch(result_groups=groups, should_terminate=terminate)

        return await super()._get_response_with_function_invocation(
            execute_function_calls=execute, **options
        )


def _tools_of(
    options: dict[str, Any] | None,
) -> tuple[dict[str, FunctionTool], dict[str, BoundTool]]:
    """The agent's function tools, and the plant tools its unrunnable calls go to: its
    ``PlantFunctionTool``\\ s, or while it is on MCP tools the role's in-process ones."""
    functions = {
        tool.name: tool
        for tool in (options or {}).get("tools") or []
        if isinstance(tool, FunctionTool)
    }
    plant = {
        name: tool.bound for name, tool in functions.items() if isinstance(tool, PlantFunctionTool)
    }
    return functions, plant or dict(mcp_role_tools() or {})
