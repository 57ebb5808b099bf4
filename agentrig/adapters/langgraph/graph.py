"""The maintenance workflow as explicit LangGraph ``StateGraph`` s: one per role, one for the run.

Each role is a graph of its own (:func:`role_graph`) -- the classic LangGraph agent loop written
out by hand::

    START -> model --(tool calls?)--> tools --(turns left?)--> model ... --> END

``model`` asks the chat model with the role's system prompt and tools; ``tools`` runs every
tool call of that reply through the role's :class:`~agentrig.core.contract.agent.BoundTool` s,
one at a time in the model's order, with the model's tool-call id as the executor's idempotency
key. Calls LangChain could not parse (arguments that are not JSON: ``invalid_tool_calls``) and
names the role lacks go to the executor too, which records and refuses them; the model reads
its refusal. ``turns_left`` in the role's state bounds the model calls (``max_turns_per_role``).

The run is one more graph (:func:`workflow_graph`), whose nodes are the three roles (each node
runs its role graph as a subgraph inside the role's ``invoke_agent`` span) and the two handoffs
between them::

    START -> monitor -> hand_over_to_diagnostician -> diagnostician
          -> hand_over_to_operator -> operator -> END

A handoff node sends the previous role's answer over the run's bus
(:meth:`~agentrig.core.contract.agent.Handoffs.hand_over`) and writes what *arrived* into the
state, from which the next role's task is built: the bus really carries the work, as in the
plain baseline. Everything a node needs that is not state -- the run's context, the chat model
-- comes from LangGraph's runtime context (:class:`RunDeps`), so the graphs are built once per
adapter and only the state is checkpointed. A role subgraph inherits the run graph's
checkpointer and is checkpointed in its own namespace (``monitor:<task id>``), so a resumed run
continues inside the role it was killed in.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypedDict

from agentrig.core.contract.agent import BoundTool, Handoffs, RunContext, no_final_answer
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.messaging.message import Message
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    from langchain_core.language_models import BaseChatModel, LanguageModelInput
    from langchain_core.messages import (
        AIMessage,
        AnyMessage,
        HumanMessage,
        InvalidToolCall,
        SystemMessage,
        ToolCall,
        ToolMessage,
    )
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool
    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.runtime import Runtime
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangGraph adapter", "langgraph") from error

__all__ = [
    "HandedOver",
    "RoleGraph",
    "RoleState",
    "RunDeps",
    "WorkflowGraph",
    "WorkflowNode",
    "WorkflowState",
    "final_answer",
    "hand_over_node_name",
    "role_graph",
    "role_models",
    "workflow_graph",
]

RoleGraph = CompiledStateGraph["RoleState", "RunDeps", "RoleState", "RoleState"]
WorkflowGraph = StateGraph["WorkflowState", "RunDeps", "WorkflowState", "WorkflowState"]


@dataclass(frozen=True)
class RunDeps:
    """The LangGraph runtime context of one run: what nodes use that is not checkpointed.

    Attributes:
        ctx: the run's context (tools bound to its executor, prompts, handoffs, telemetry).
        models: each role's chat model with the role's tools bound (:func:`role_models`).
        mcp_tools: with ``--tools mcp``, each role's tools from its MCP server
            (``langchain-mcp-adapters``, as the ``langchain`` adapter loads them); None: native.
    """

    ctx: RunContext
    models: Mapping[Role, Runnable[LanguageModelInput, AIMessage]]
    mcp_tools: Mapping[Role, Sequence[BaseTool]] | None = None


def role_models(
    model: BaseChatModel,
    ctx: RunContext,
    mcp_tools: Mapping[Role, Sequence[BaseTool]] | None = None,
) -> dict[Role, Runnable[LanguageModelInput, AIMessage]]:
    """``model`` with each role's tools bound, as the plant's own strict JSON schemas (as the
    plain baseline sends them); built once per run, not per model call (~0.5 ms a role).

    With ``mcp_tools`` the role's MCP tools are bound instead, ``strict=True`` as natively: their
    schemas are the server's ``inputSchema``, the catalogue's strict ones.
    """
    if mcp_tools is not None:
        return {role: model.bind_tools(list(mcp_tools[role]), strict=True) for role in ROLES}
    return {
        role: model.bind_tools([tool.openai_tool(strict=True) for tool in ctx.tools[role]])
        for role in ROLES
    }


class RoleState(TypedDict):
    """One role's conversation: its task, the model's replies and the tool results."""

    messages: Annotated[list[AnyMessage], add_messages]
    turns_left: int
    """Model calls the role may still make (starts at ``max_turns_per_role``)."""


class HandedOver(TypedDict):
    """A role's answer as it arrived on the bus, for the next role's task."""

    role: Role
    text: str


def _merge(left: Mapping[str, str], right: Mapping[str, str]) -> dict[str, str]:
    return {**left, **right}


class WorkflowState(TypedDict):
    """The run: the alarm, each role's answer, what the bus delivered, the last message."""

    alarm: str
    answers: Annotated[dict[str, str], _merge]
    received: Annotated[list[HandedOver], operator.add]
    last_message: dict[str, Any]
    """The last protocol message (the alarm, then each handoff) as JSON: the next one's cause."""


# ------------------------------------------------------------------ a role


def role_graph(role: Role) -> RoleGraph:
    """``role`` as a model node and a tool node joined by conditional edges (no checkpointer:
    it inherits the run graph's, in a namespace of its own)."""

    async def model(state: RoleState, *, runtime: Runtime[RunDeps]) -> dict[str, Any]:
        prompt = runtime.context.ctx.prompts[role]
        reply = await runtime.context.models[role].ainvoke(
            [SystemMessage(prompt), *state["messages"]]
        )
        return {"messages": [reply], "turns_left": state["turns_left"] - 1}

    async def tools(state: RoleState, *, runtime: Runtime[RunDeps]) -> dict[str, Any]:
        bound = runtime.context.ctx.tools[role]
        over_mcp = runtime.context.mcp_tools
        # One at a time, in the model's order: every call advances the plant's clock.
        calls = _tool_calls(state["messages"][-1])
        if over_mcp is not None:
            mcp = {tool.name: tool for tool in over_mcp[role]}
            return {"messages": [await _call_mcp_tool(mcp, bound, role, c) for c in calls]}
        return {"messages": [await _call_tool(bound, role, call) for call in calls]}

    builder = StateGraph(RoleState, context_schema=RunDeps)
    builder.add_node("model", model)
    builder.add_node("tools", tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", _after_model, ["tools", END])
    builder.add_conditional_edges("tools", _after_tools, ["model", END])
    return builder.compile(name=role)


def _tool_calls(message: AnyMessage) -> list[ToolCall | InvalidToolCall]:
    """The tool calls of a model reply: parsed ones, then those LangChain could not parse.

    langchain-openai splits a reply's calls into the two lists, each in the model's order; their
    order relative to each other is lost (docs/adapters-langgraph.md, quirks).
    """
    if not isinstance(message, AIMessage):
        return []
    return [*message.tool_calls, *message.invalid_tool_calls]


def _after_model(state: RoleState) -> str:
    return "tools" if _tool_calls(state["messages"][-1]) else END


def _after_tools(state: RoleState) -> str:
    # Out of turns: the role ends without an answer (final_answer says so), as in every adapter.
    return "model" if state["turns_left"] > 0 else END


async def _call_tool(
    bound: Sequence[BoundTool], role: Role, call: ToolCall | InvalidToolCall
) -> ToolMessage:
    name = call.get("name") or ""
    arguments = call.get("args")
    call_id = call.get("id") or ""
    tool = next((tool for tool in bound if tool.name == name), None)
    if tool is not None:
        text = await tool.acall(arguments, call_id=call_id or None)
    else:
        # Not one of this role's tools: the executor still answers (unknown, or not the role's),
        # so the model learns why and the call is recorded like any other.
        executor = bound[0].executor
        text = (await executor.call(name, _plain(arguments), role=role)).to_text()
    return ToolMessage(content=text, tool_call_id=call_id, name=name or "unknown")


async def _call_mcp_tool(
    mcp: Mapping[str, BaseTool],
    bound: Sequence[BoundTool],
    role: Role,
    call: ToolCall | InvalidToolCall,
) -> ToolMessage:
    """``call`` through the role's MCP session; a call no MCP request can carry (arguments
    that are not a JSON object) or a tool the role lacks goes to the executor in-process."""
    tool = mcp.get(call.get("name") or "")
    if tool is None or call.get("type") == "invalid_tool_call":
        return await _call_tool(bound, role, call)
    message = await tool.ainvoke({**call, "type": "tool_call"})
    if not isinstance(message, ToolMessage):  # pragma: no cover - a tool call returns one
        raise TypeError(f"langchain-mcp-adapters returned {type(message).__name__}")
    return message


def _plain(arguments: Any) -> dict[str, Any] | str:
    if arguments is None:
        return {}
    return arguments if isinstance(arguments, str) else dict(arguments)


def final_answer(role: Role, state: Mapping[str, Any], max_turns: int) -> str:
    """The role's answer: its last reply when that asks for no tools, else "no final answer"."""
    messages: Sequence[AnyMessage] = state.get("messages", [])
    last = messages[-1] if messages else None
    if isinstance(last, AIMessage) and not _tool_calls(last):
        return last.text
    return no_final_answer(role, max_turns)


# ------------------------------------------------------------------ the run


def hand_over_node_name(recipient: Role) -> str:
    """The node that hands the previous role's answer to ``recipient``."""
    return f"hand_over_to_{recipient}"


class WorkflowNode(Protocol):
    """A node of the run graph, as LangGraph calls it (the runtime injected by keyword)."""

    async def __call__(
        self, state: WorkflowState, *, runtime: Runtime[RunDeps]
    ) -> dict[str, Any]: ...


def _role_node(role: Role, graph: RoleGraph) -> WorkflowNode:
    async def run_role(state: WorkflowState, *, runtime: Runtime[RunDeps]) -> dict[str, Any]:
        ctx = runtime.context.ctx
        task = ctx.task_for(state["alarm"], [(h["role"], h["text"]) for h in state["received"]])
        with ctx.telemetry.agent(role):
            # The subgraph inherits this task's config: the checkpointer, a namespace of its
            # own, and -- when the run resumes -- LangGraph's "resuming" flag, with which it
            # continues from its last checkpoint and ignores this input.
            result = await graph.ainvoke(
                {"messages": [HumanMessage(task)], "turns_left": ctx.max_turns_per_role}
            )
        answer = final_answer(role, result, ctx.max_turns_per_role)
        if answer == no_final_answer(role, ctx.max_turns_per_role):
            ctx.telemetry.logger.warning(
                "langgraph: role ran out of model turns", role=role, turns=ctx.max_turns_per_role
            )
        return {"answers": {role: answer}}

    run_role.__name__ = role
    return run_role


def _hand_over_node(sender: Role, recipient: Role) -> WorkflowNode:
    async def hand_over(state: WorkflowState, *, runtime: Runtime[RunDeps]) -> dict[str, Any]:
        handoffs = runtime.context.ctx.handoffs
        delivered = await handoffs.hand_over(
            sender,
            recipient,
            state["answers"][sender],
            causation=Message.model_validate(state["last_message"]),
        )
        return {
            "received": [HandedOver(role=sender, text=Handoffs.text_of(delivered))],
            "last_message": delivered.model_dump(mode="json"),
        }

    hand_over.__name__ = hand_over_node_name(recipient)
    return hand_over


def workflow_graph(roles: Mapping[Role, RoleGraph]) -> WorkflowGraph:
    """The run's graph (not compiled: the adapter compiles it with the run's checkpointer)."""
    builder = StateGraph(WorkflowState, context_schema=RunDeps)
    previous: str = START
    for index, role in enumerate(ROLES):
        if index > 0:
            handoff = hand_over_node_name(role)
            builder.add_node(handoff, _hand_over_node(ROLES[index - 1], role))
            builder.add_edge(previous, handoff)
            previous = handoff
        builder.add_node(role, _role_node(role, roles[role]))
        builder.add_edge(previous, role)
        previous = role
    builder.add_edge(previous, END)
    return builder
