"""The MCP clients of the adapters added after the first four, for :mod:`.mcp_probe`.

Each opener connects the framework's own MCP client to an endpoint exactly as its adapter does
(the adapter's ``mcp`` module) and calls a tool the way the framework's agent loop does; it yields
``call(tool, arguments)`` -> (the text the model reads, whether it reads it as an error).

Three of these clients drop the MCP result's ``isError`` flag -- the OpenAI Agents SDK, Pydantic
AI's for a protocol error, and smolagents' (mcpadapt) -- and hand the model the text alone; for
them "reads it as an error" is decided from the text: the executor's ``"ok": false`` or the
framework's own error sentence. Google ADK hands the model the whole ``CallToolResult`` as JSON
(or ``{"error": ...}`` for a failed hop); its opener reports the result's text and ``isError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from agentrig.core.contract.mcp import McpEndpoint

__all__ = ["OPENERS"]

Call = Callable[[str, dict[str, Any]], Awaitable[tuple[str, bool]]]


def _reads_as_error(text: str) -> bool:
    try:
        return json.loads(text).get("ok") is not True
    except (ValueError, AttributeError):
        return True  # not the executor's JSON: the framework's own error sentence


@contextlib.asynccontextmanager
async def _openai_agents(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from agents import Agent, RunContextWrapper, Usage
    from agents.tool_context import ToolContext

    from agentrig.adapters.openai_agents import patches
    from agentrig.adapters.openai_agents.mcp import MCP_CONFIG, mcp_server
    from agentrig.adapters.openai_agents.tools import RunGuard

    patches.apply()  # as the adapter does (openai-agents 0.13.6 builds Usage the old way)
    async with mcp_server(endpoint, RunGuard(), "agentrig-probe") as server:
        agent: Agent[None] = Agent(name="operator", mcp_servers=[server], mcp_config=MCP_CONFIG)
        tools = {t.name: t for t in await agent.get_mcp_tools(RunContextWrapper(context=None))}

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            function = tools[tool]
            assert hasattr(function, "on_invoke_tool")
            text_in = json.dumps(arguments)
            context: ToolContext[None] = ToolContext(
                context=None,
                usage=Usage(),
                tool_name=tool,
                tool_call_id="call_probe",
                tool_arguments=text_in,
            )
            output = await function.on_invoke_tool(context, text_in)
            text = output["text"] if isinstance(output, dict) else str(output)
            return text, _reads_as_error(text)

        yield call


@contextlib.asynccontextmanager
async def _pydantic_ai(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from pydantic_ai import RunContext
    from pydantic_ai.exceptions import ModelRetry, ToolFailed
    from pydantic_ai.models.test import TestModel
    from pydantic_ai.usage import RunUsage

    from agentrig.adapters.pydantic_ai.mcp import mcp_toolset

    toolset = mcp_toolset(endpoint)
    context: RunContext[None] = RunContext(deps=None, model=TestModel(), usage=RunUsage())
    async with toolset:
        tools = await toolset.get_tools(context)

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            # What the agent's ToolManager does: validate (MCPToolset takes any JSON object),
            # call; ToolFailed and ModelRetry become a tool result the model reads.
            validated = tools[tool].args_validator.validate_python(arguments)
            try:
                result = await toolset.call_tool(tool, validated, context, tools[tool])
            except (ToolFailed, ModelRetry) as failed:
                return failed.message, True
            text = result if isinstance(result, str) else json.dumps(result)
            return text, _reads_as_error(text)

        yield call


@contextlib.asynccontextmanager
async def _agent_framework(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from agent_framework import Content
    from agent_framework._tools import (
        _auto_invoke_function,
        normalize_function_invocation_configuration,
    )

    from agentrig.adapters.agent_framework.mcp import mcp_tool

    # Raises ConfigurationError while the installed mcp is older than 2.2 (see that module).
    config = normalize_function_invocation_configuration(None)  # the loop's defaults
    async with mcp_tool(endpoint, "plant-probe") as connected:
        functions = {function.name: function for function in connected.functions}

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            # What Agent Framework's loop does with one call of a reply: its own per-call
            # function, which turns what the tool raised into the result text the model reads.
            content = Content.from_function_call(
                call_id="call_probe", name=tool, arguments=json.dumps(arguments)
            )
            result = await _auto_invoke_function(content, config=config, tool_map=functions)
            text = str(result.result)  # the text form the model is sent
            return text, result.exception is not None or _reads_as_error(text)

        yield call


@contextlib.asynccontextmanager
async def _smolagents(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from agentrig.adapters.smolagents.mcp import open_mcp_tools

    # Blocking client (its own loop in its own thread); the server is on ours: call from a thread.
    client = await _in_thread(lambda: open_mcp_tools(endpoint))
    try:
        tools = {tool.name: tool for tool in client.get_tools()}

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            text = str(await _in_thread(lambda: tools[tool](arguments)))
            return text, _reads_as_error(text)

        yield call
    finally:
        await _in_thread(client.disconnect)


@contextlib.asynccontextmanager
async def _google_adk(endpoint: McpEndpoint) -> AsyncIterator[Call]:
    from google.adk.agents import LlmAgent
    from google.adk.agents.invocation_context import InvocationContext
    from google.adk.sessions import InMemorySessionService
    from google.adk.tools.tool_context import ToolContext

    from agentrig.adapters.google_adk.mcp import mcp_toolset

    toolset = mcp_toolset(endpoint)
    sessions = InMemorySessionService()
    session = await sessions.create_session(app_name="agentrig", user_id="probe")
    invocation = InvocationContext(
        session_service=sessions,
        invocation_id="probe",
        agent=LlmAgent(name="operator"),
        session=session,
    )
    try:
        tools = {tool.name: tool for tool in await toolset.get_tools()}

        async def call(tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
            # What ADK's flow runs for a function call (its before/after callbacks aside); the
            # model reads the returned dict as JSON: the whole CallToolResult, or ADK's
            # {"error": ...} for a failed hop. The probe reports the result's text and isError.
            context = ToolContext(invocation, function_call_id="call_probe")
            response = await tools[tool].run_async(args=arguments, tool_context=context)
            if "error" in response and "content" not in response:
                return str(response["error"]), True
            text = "".join(str(block.get("text", "")) for block in response.get("content", []))
            return text, bool(response.get("isError"))

        yield call
    finally:
        await toolset.close()


async def _in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` on a plain thread (no event loop in it) without blocking ours."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value)

    def target() -> None:
        try:
            value = work()
        except BaseException as error:  # noqa: BLE001 -- handed to the awaiting task
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=target, name="agentrig-mcp-probe", daemon=True).start()
    return await done


OPENERS: dict[str, Callable[[McpEndpoint], contextlib.AbstractAsyncContextManager[Call]]] = {
    "openai-agents": _openai_agents,
    "pydantic-ai": _pydantic_ai,
    "agent-framework": _agent_framework,
    "smolagents": _smolagents,
    "google-adk": _google_adk,
}
