"""The plain baseline: a tool-calling loop over the ``openai`` client, no framework.

Each role is one loop -- ask the model, run the tool calls it makes through the plant's executor,
feed the results back, until it answers -- and the roles hand over through the bus. It is the
floor every framework's overhead is measured against, so it does nothing a framework would not
have to do too.

With ``--tools mcp`` each role opens a ``ClientSession`` of the official ``mcp`` SDK (plain's own
MCP client: no framework) on its MCP server, lists the tools -- their ``inputSchema`` becomes the
``parameters`` of the model's tool definitions, unchanged -- and calls them with
``session.call_tool``. Arguments that are not a JSON object cannot travel in an MCP request; those
calls reach the executor in-process, as with native tools, so the executor still sees every call.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.core.contract.agent import (
    BoundTool,
    Outcome,
    RunContext,
    no_final_answer,
    run_roles_over_bus,
)
from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.contract.roles import Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.exceptions import MissingExtraError

__all__ = ["PlainAdapter"]


class PlainAdapter:
    """Monitor, diagnostician and operator as three tool-calling loops over ``AsyncOpenAI``."""

    name = "plain"
    supports_mcp = True
    # Its tool definitions are the listed inputSchemas unchanged and the result text is the
    # executor's: an MCP run's model requests are the native run's (tests/adapters/test_mcp.py).
    mcp_requests_match_native = True

    def __init__(self) -> None:
        # One client per (event loop, endpoint), closed by aclose() (see adapters._loop_cache).
        self.clients: LoopClients[AsyncOpenAI] = LoopClients()

    @property
    def framework_version(self) -> str:
        return f"openai {openai.__version__}"

    def _client(self, endpoint: ModelEndpoint) -> AsyncOpenAI:
        options = endpoint.client_options()
        return self.clients.get(endpoint_digest(endpoint), lambda: AsyncOpenAI(**options))

    async def aclose(self) -> None:
        """Close the clients this event loop's runs used."""
        for client in self.clients.pop_loop():
            await client.close()

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        client = self._client(ctx.model)

        async def run_role(role: Role, task_text: str) -> str:
            if ctx.mcp is None:
                tools = {tool.name: tool for tool in ctx.tools[role]}
                params = [tool.openai_tool(strict=True) for tool in tools.values()]

                async def call(name: str, arguments: str, call_id: str) -> str:
                    return await _call_tool(tools, ctx, role, name, arguments, call_id)

                return await self._run_role(client, ctx, role, task_text, params, call)
            async with _mcp_tools(ctx.mcp[role], ctx, role) as (mcp_params, mcp_call):
                return await self._run_role(client, ctx, role, task_text, mcp_params, mcp_call)

        return await run_roles_over_bus(task, ctx, run_role)

    async def _run_role(
        self,
        client: AsyncOpenAI,
        ctx: RunContext,
        role: Role,
        task: str,
        params: list[dict[str, Any]],
        call_tool: ToolCall,
    ) -> str:
        tool_params: list[ChatCompletionToolParam] = params  # type: ignore[assignment]
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": ctx.prompts[role]},
            {"role": "user", "content": task},
        ]
        for _ in range(ctx.max_turns_per_role):
            response = await client.chat.completions.create(
                model=ctx.model.model, messages=messages, tools=tool_params
            )
            if not response.choices:
                # A provider answered with no choice at all: ask again (it counts as a turn).
                ctx.telemetry.logger.warning("model returned no choices", role=role)
                continue
            reply = response.choices[0].message
            if not reply.tool_calls:
                return reply.content or ""
            messages.append(_assistant_message(reply.content, reply.tool_calls))
            for call in reply.tool_calls:
                if call.type != "function":
                    continue
                text = await call_tool(call.function.name, call.function.arguments, call.id)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": text})
        return no_final_answer(role, ctx.max_turns_per_role)


ToolCall = Callable[[str, str, str], Awaitable[str]]
"""``call(name, arguments_json, call_id)`` -> the result text the model reads."""


@contextlib.asynccontextmanager
async def _mcp_tools(
    endpoint: McpEndpoint, ctx: RunContext, role: Role
) -> AsyncIterator[tuple[list[dict[str, Any]], ToolCall]]:
    """The role's tools from its MCP server: (OpenAI tool params, a call function)."""
    try:
        from mcp import ClientSession

        from agentrig.core.mcp.compat import mcp_read_timeout, mcp_streams, tool_input_schema
    except ImportError as error:
        raise MissingExtraError("the plain adapter with --tools mcp", "mcp") from error
    bound = {tool.name: tool for tool in ctx.tools[role]}
    timeout = mcp_read_timeout(endpoint.timeout_s)
    async with mcp_streams(endpoint) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = (await session.list_tools()).tools
        params = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description or "",
                    "parameters": tool_input_schema(tool),
                    "strict": True,
                },
            }
            for tool in listed
        ]

        async def call(name: str, arguments: str, call_id: str) -> str:
            try:
                parsed = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                # Not a JSON object: no MCP request can carry it (see the module docstring).
                return await _call_tool(bound, ctx, role, name, arguments, call_id)
            result = await session.call_tool(name, parsed, read_timeout_seconds=timeout)
            return "".join(block.text for block in result.content if block.type == "text")

        yield params, call


async def _call_tool(
    tools: dict[str, BoundTool],
    ctx: RunContext,
    role: Role,
    name: str,
    arguments: str,
    call_id: str,
) -> str:
    tool = tools.get(name)
    if tool is not None:
        return await tool.acall(arguments, call_id=call_id)
    # Not one of this role's tools: the executor still answers (unknown tool, or not allowed for
    # the role), so the model learns why and the mistake is recorded like any other call.
    executor = next(iter(tools.values())).executor
    result = await executor.call(name, arguments, role=role)
    return result.to_text()


def _assistant_message(content: str | None, tool_calls: list[Any]) -> ChatCompletionMessageParam:
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in tool_calls
            if call.type == "function"
        ],
    }
