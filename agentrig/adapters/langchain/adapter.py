"""The LangChain adapter: one ``create_agent`` agent per role, chained through the shared bus.

Each role -- monitor, diagnostician, operator -- is a LangChain 1.x agent
(``langchain.agents.create_agent``, a LangGraph graph) named after the role, with the role's
system prompt and its plant tools as ``StructuredTool`` objects whose coroutine calls the
:class:`~agentrig.core.contract.agent.BoundTool` with the model's tool-call id (the executor's idempotency
key); a middleware hands the calls LangChain would answer itself (unknown tools, invalid or
non-JSON arguments) to the executor too. The roles hand over on the bus: the next role's task is
built from the message it received there, as in the plain baseline. Every agent checkpoints into
the run's StateStore through
:class:`~agentrig.adapters.langchain.checkpoint.StateStoreCheckpointer`, one thread per role
(``{run_id}:{role}``), so running the same run id again over the same store resumes: a role whose
thread holds a final answer is not asked again, an interrupted one continues from its last
checkpoint.

Model calls go through ``langchain_openai.ChatOpenAI`` -- built once per event loop, with an
``httpx`` client of its own (langchain-openai otherwise shares one cached client process-wide,
whose pool belongs to the first event loop that used it) -- with streaming disabled and no LLM
cache (:mod:`.chat_models`, shared with the ``langgraph`` adapter). See
``docs/adapters-langchain.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError, create_model

from agentrig.adapters.langchain import patches
from agentrig.adapters.langchain.chat_models import ChatModels
from agentrig.adapters.langchain.checkpoint import StateStoreCheckpointer, checkpoint_prefix
from agentrig.core.contract.agent import (
    BoundTool,
    Outcome,
    RunContext,
    no_final_answer,
    run_roles_over_bus,
)
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    import langchain
    from langchain.agents import create_agent
    from langchain.agents.middleware import (
        AgentMiddleware,
        ExtendedModelResponse,
        InputAgentState,
        ModelRequest,
        ModelResponse,
    )
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
    from langchain_openai import ChatOpenAI
    from langgraph.errors import GraphRecursionError
    from langgraph.prebuilt.tool_node import ToolCallRequest
    from langgraph.types import Command
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangChain adapter", "langchain") from error

__all__ = [
    "ExecutorFallback",
    "LangChainAdapter",
    "PlantTool",
    "langchain_tool",
    "recursion_limit",
    "role_thread_id",
]


def role_thread_id(run_id: str, role: str) -> str:
    """The LangGraph thread of one role of one run: ``{run_id}:{role}``."""
    return f"{run_id}:{role}"


def recursion_limit(max_turns: int) -> int:
    """The LangGraph ``recursion_limit`` that lets an agent make ``max_turns`` model calls.

    ``n`` model calls take ``2n - 1`` supersteps (model, tools, model, ..., model), and LangGraph
    checks the limit before it notices that nothing is left to run, so a graph that ends on its
    last allowed step needs one more (measured on langgraph 1.2: with ``2n - 1`` the answer is
    saved, then ``GraphRecursionError`` is raised anyway).
    """
    return 2 * max(1, max_turns)


class LangChainAdapter:
    """Monitor, diagnostician and operator as three ``create_agent`` agents handing over on the bus."""

    name = "langchain"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        # A model's async HTTP pool belongs to the event loop it ran on: one model per loop and
        # endpoint, closed by aclose() when that loop's runs are done (see adapters._loop_cache).
        self.clients = ChatModels()

    @property
    def framework_version(self) -> str:
        return str(langchain.__version__)

    def _model(self, endpoint: ModelEndpoint) -> ChatOpenAI:
        return self.clients.model(endpoint)

    async def aclose(self) -> None:
        """Close the HTTP clients this event loop's runs used."""
        await self.clients.aclose()

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        model = self._model(ctx.model)
        checkpointer = StateStoreCheckpointer(ctx.store, prefix=checkpoint_prefix(ctx.run_id))

        async def run_role(role: Role, task_text: str) -> str:
            return await _run_role(model, checkpointer, ctx, role, task_text)

        return await run_roles_over_bus(task, ctx, run_role)


async def _run_role(
    model: ChatOpenAI,
    checkpointer: StateStoreCheckpointer,
    ctx: RunContext,
    role: Role,
    task: str,
) -> str:
    if ctx.mcp is None:
        return await _run_agent(
            model, checkpointer, ctx, role, task, [langchain_tool(t) for t in ctx.tools[role]]
        )
    from agentrig.adapters.langchain.mcp import mcp_tools

    async with mcp_tools(ctx.mcp[role]) as tools:
        return await _run_agent(model, checkpointer, ctx, role, task, tools)


async def _run_agent(
    model: ChatOpenAI,
    checkpointer: StateStoreCheckpointer,
    ctx: RunContext,
    role: Role,
    task: str,
    langchain_tools: Sequence[BaseTool],
) -> str:
    tools = ctx.tools[role]
    agent = create_agent(
        model,
        langchain_tools,
        system_prompt=ctx.prompts[role],
        middleware=[ExecutorFallback(tools)],
        checkpointer=checkpointer,
        name=role,
    )
    config: RunnableConfig = {
        "configurable": {"thread_id": role_thread_id(ctx.run_id, role)},
        "recursion_limit": recursion_limit(ctx.max_turns_per_role),
        # create_agent sends each tool call of a model response to its own task, and LangGraph
        # runs a step's tasks concurrently; callbacks (OpenInference's) hop through threads, so
        # the calls would reach the plant -- whose clock every call advances -- in any order.
        # One task at a time, in the order the model gave them: runs are reproducible and can
        # be replayed from cassettes (docs/cassettes.md), as with plain and AutoGen.
        "max_concurrency": 1,
    }
    saved = await agent.aget_state(config)
    inputs: InputAgentState | None = {"messages": [HumanMessage(task)]}
    if saved.values.get("messages"):
        if not saved.next and _answered(saved.values["messages"]):
            ctx.telemetry.logger.info("langchain: role already answered in its thread", role=role)
            return _final_text(saved.values["messages"])
        # Interrupted mid-way (a crash, a timeout): continue from the last checkpoint.
        ctx.telemetry.logger.info("langchain: resuming the role from its checkpoint", role=role)
        inputs = None
    try:
        result = await agent.ainvoke(inputs, config)
    except GraphRecursionError:
        # Out of turns is the agent's failure, not the framework's: answer as plain, AutoGen and
        # CrewAI do when they hit their limits, so it is graded (failed), not an error result.
        ctx.telemetry.logger.warning(
            "langchain: role ran out of model turns", role=role, turns=ctx.max_turns_per_role
        )
        return no_final_answer(role, ctx.max_turns_per_role)
    return _final_text(result["messages"])


def _answered(messages: Sequence[Any]) -> bool:
    """Whether the thread ends in the role's final answer (a model reply asking for no tools).

    ``next`` alone cannot tell: a process killed after a step's writes were saved but before the
    next checkpoint leaves a snapshot with no ``next`` whose pending writes (the model's reply and
    its tool calls) still have to be applied -- found by ``compare --kill`` (``action#1``).
    """
    last = messages[-1] if messages else None
    return isinstance(last, AIMessage) and not last.tool_calls


def _final_text(messages: Sequence[Any]) -> str:
    last = messages[-1] if messages else None
    return last.text if isinstance(last, AIMessage) else ""


def langchain_tool(tool: BoundTool) -> StructuredTool:
    """``tool`` as a LangChain tool: the plant's argument model, the call id as idempotency key."""

    async def call_plant_tool(arguments: dict[str, Any], tool_call_id: str) -> str:
        return await tool.acall(arguments, call_id=tool_call_id)

    return PlantTool(
        name=tool.name,
        description=tool.description,
        args_schema=_with_call_id(tool.args_model),
        coroutine=call_plant_tool,
    )


class PlantTool(StructuredTool):
    """A ``StructuredTool`` whose coroutine gets the arguments exactly as the model gave them.

    LangChain validates them against the schema as usual (its errors reach the model), but then
    hands a tool every field, defaults included; the executor records and hashes what the model
    actually sent -- ``{"device_id": "pump-07"}`` and ``{"device_id": "pump-07", "sensor_id":
    null}`` are different calls to it, as they are in every other adapter.
    """

    def _parse_input(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> str | dict[str, Any]:
        parsed = super()._parse_input(tool_input, tool_call_id)
        if not isinstance(tool_input, dict):
            return parsed
        # super() wrote the injected id into tool_input; the rest is the model's.
        given = {name: value for name, value in tool_input.items() if name != "tool_call_id"}
        return {"arguments": given, "tool_call_id": tool_call_id}


@functools.cache
def _with_call_id(args_model: type[BaseModel]) -> type[BaseModel]:
    """``args_model`` plus the tool-call id LangChain injects (hidden from the model's schema).

    The id lives in the schema rather than only in the coroutine's signature because LangChain
    injects nothing into a tool whose schema has no fields (``list_devices``).
    """
    extended: type[BaseModel] = create_model(
        args_model.__name__,
        __base__=args_model,
        __module__=args_model.__module__,
        tool_call_id=(Annotated[str, InjectedToolCallId], ...),
    )
    return extended


class ExecutorFallback(AgentMiddleware):
    """Send the tool calls LangChain would answer itself to the plant's executor instead.

    LangChain answers on its own a tool name the agent does not have, arguments its schema
    rejects and arguments that are not JSON at all -- and when a model turn holds only such a
    malformed call, stock ``create_agent`` ends the agent with an empty answer. The executor must
    see every call the model makes (it records it in the ledger and answers with the same error
    text the other adapters' models read), so this middleware hands those calls to it; calls
    with valid arguments go on to the ``StructuredTool``.
    """

    def __init__(self, tools: Sequence[BoundTool]) -> None:
        super().__init__()
        # Not `self.tools`: AgentMiddleware.tools lists tools a middleware adds to the agent.
        self._bound: Mapping[str, BoundTool] = {tool.name: tool for tool in tools}

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        response = await handler(request)
        reply = next((m for m in reversed(response.result) if isinstance(m, AIMessage)), None)
        if reply is None or not reply.invalid_tool_calls or not self._bound:
            return response
        answers = [
            await self._execute(call.get("name") or "", call.get("args") or "", call_id)
            for call in reply.invalid_tool_calls
            if (call_id := call.get("id"))
        ]
        update: dict[str, Any] = {"messages": answers}
        if not reply.tool_calls:
            # Nothing for the tool node: without this jump the agent would stop here.
            update["jump_to"] = "model"
        return ExtendedModelResponse(model_response=response, command=Command(update=update))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        call = request.tool_call
        bound = self._bound.get(call["name"])
        if not self._bound or (
            bound is not None and request.tool is not None and _valid(bound.args_model, call)
        ):
            return await handler(request)
        return await self._execute(call["name"], call["args"], call["id"] or "")

    async def _execute(self, name: str, arguments: Any, call_id: str) -> ToolMessage:
        bound = self._bound.get(name)
        if bound is not None:
            text = await bound.acall(arguments, call_id=call_id)
        else:
            # Not one of this role's tools: the executor says why (unknown, or not the role's).
            any_tool = next(iter(self._bound.values()))
            result = await any_tool.executor.call(name, arguments, role=any_tool.role)
            text = result.to_text()
        return ToolMessage(content=text, tool_call_id=call_id, name=name or "unknown")


def _valid(args_model: type[BaseModel], call: Mapping[str, Any]) -> bool:
    try:
        args_model.model_validate(call["args"])
    except ValidationError:
        return False
    return True
