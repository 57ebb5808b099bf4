"""The LangGraph adapter: the workflow as an explicit ``StateGraph``, checkpointed in the StateStore.

Where the ``langchain`` adapter lets LangChain's ``create_agent`` build each role's graph, this
one writes the graphs out (:mod:`.graph`): per role a model node and a tool node joined by
conditional edges, and for the run a graph whose nodes are the three roles and the two bus
handoffs between them. The run graph is compiled per run with
:class:`~agentrig.adapters.langchain.checkpoint.StateStoreCheckpointer` on the run's store (one
thread per run, ``thread_id = run_id``; the role subgraphs checkpoint into namespaces of that
thread), with ``durability="sync"``: a step's checkpoint is in the store before the next step
starts, so a run killed during a tool call resumes at that tool call, whose call id the
executor already knows. Running the same run id again over the same store resumes: a finished
thread is answered from its state, an unfinished one continues with ``ainvoke(None)``.

Model calls go through ``langchain_openai.ChatOpenAI`` -- built once per event loop with an
``httpx`` client of its own (see :class:`~agentrig.adapters._loop_cache.LoopClients`) --
with streaming disabled and no LLM cache: the ``langchain`` adapter's models
(:class:`~agentrig.adapters.langchain.chat_models.ChatModels`). See ``docs/adapters-langgraph.md``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from agentrig.adapters.langgraph.graph import (
    RoleGraph,
    RunDeps,
    WorkflowState,
    role_graph,
    role_models,
    workflow_graph,
)
from agentrig.core.contract.agent import Outcome, RunContext
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    import langgraph.version
    from langchain_core.runnables import RunnableConfig
    from langchain_openai import ChatOpenAI

    # Inside the guard, after langgraph: the shared checkpointer and chat models live in the
    # langchain adapter's package, whose import needs `langchain` (the langgraph extra installs it).
    from agentrig.adapters.langchain.chat_models import ChatModels
    from agentrig.adapters.langchain.checkpoint import StateStoreCheckpointer, checkpoint_prefix
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangGraph adapter", "langgraph") from error

__all__ = ["LangGraphAdapter", "recursion_limit", "workflow_config"]


def recursion_limit(max_turns: int) -> int:
    """A LangGraph ``recursion_limit`` the graphs never reach: ``turns_left`` ends a role first.

    A role takes at most ``2 * max_turns`` supersteps (model, tools, ...), the run graph five;
    LangGraph counts each graph's supersteps on their own and checks the limit one step early
    (see the ``langchain`` adapter's ``recursion_limit``), so this is a backstop, not the limit.
    """
    return 2 * max(1, max_turns) + 2 * len(ROLES) + 1


def workflow_config(run_id: str, max_turns: int) -> RunnableConfig:
    """The run graph's config: the run's thread and the recursion backstop."""
    return {
        "configurable": {"thread_id": run_id},
        "recursion_limit": recursion_limit(max_turns),
    }


class LangGraphAdapter:
    """Monitor, diagnostician and operator as nodes of one LangGraph ``StateGraph``."""

    name = "langgraph"
    supports_mcp = True

    def __init__(self) -> None:
        # Built once: the graphs hold no run; a run's context reaches them as runtime context.
        self.roles: dict[Role, RoleGraph] = {role: role_graph(role) for role in ROLES}
        self.workflow = workflow_graph(self.roles)
        # A model's async HTTP pool belongs to the event loop it ran on: one per loop and
        # endpoint, closed by aclose() when that loop's runs are done (see adapters._loop_cache).
        self.clients = ChatModels()

    @property
    def framework_version(self) -> str:
        return str(langgraph.version.__version__)

    def _model(self, endpoint: ModelEndpoint) -> ChatOpenAI:
        return self.clients.model(endpoint)

    async def aclose(self) -> None:
        """Close the HTTP clients this event loop's runs used."""
        await self.clients.aclose()

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        if ctx.mcp is None:
            deps = RunDeps(ctx=ctx, models=role_models(self._model(ctx.model), ctx))
            return await self._run_graph(task, ctx, deps)
        # Each role's tools from its MCP server through langchain-mcp-adapters, one session per
        # role for the run, exactly as the langchain adapter loads them (its mcp module).
        from agentrig.adapters.langchain.mcp import mcp_tools

        async with contextlib.AsyncExitStack() as stack:
            tools = {
                role: await stack.enter_async_context(mcp_tools(ctx.mcp[role])) for role in ROLES
            }
            models = role_models(self._model(ctx.model), ctx, tools)
            return await self._run_graph(
                task, ctx, RunDeps(ctx=ctx, models=models, mcp_tools=tools)
            )

    async def _run_graph(self, task: Message, ctx: RunContext, deps: RunDeps) -> Outcome:
        checkpointer = StateStoreCheckpointer(ctx.store, prefix=checkpoint_prefix(ctx.run_id))
        graph = self.workflow.compile(checkpointer=checkpointer, name="maintenance")
        config = workflow_config(ctx.run_id, ctx.max_turns_per_role)
        saved = await graph.aget_state(config)
        answers: dict[str, str] = saved.values.get("answers", {})
        inputs: WorkflowState | None = {
            "alarm": ctx.alarm_text(task),
            "answers": {},
            "received": [],
            "last_message": task.model_dump(mode="json"),
        }
        if saved.values:
            if ROLES[-1] in answers:
                ctx.telemetry.logger.info("langgraph: the run's thread is already answered")
                return Outcome.from_answers(answers)
            # Killed mid-way: continue from the last checkpoint, inside the role it was in.
            ctx.telemetry.logger.info(
                "langgraph: resuming the run from its checkpoint", next=list(saved.next)
            )
            inputs = None
        result: dict[str, Any] = await graph.ainvoke(
            inputs, config, context=deps, durability="sync"
        )
        return Outcome.from_answers(result["answers"])
