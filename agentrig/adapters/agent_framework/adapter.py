"""The Microsoft Agent Framework adapter: an ``Agent`` per role, each with its session and tools.

Each role is an ``agent_framework.Agent`` (named after the role, with the role's prompt as its
instructions and its plant tools as ``FunctionTool``\\ s) over Agent Framework's own OpenAI Chat
Completions client, whose function-invocation loop runs the role's tool calls. Agent Framework
does not route between separate agents by itself outside a workflow, so the roles hand over
through the bus, as in the plain baseline and LangChain: the next role's task is built from the
message that *arrived*. Each role talks in its own ``AgentSession``; after every role's run and
every handoff the sessions (``AgentSession.to_dict()``, messages included), answers and handoffs
are checkpointed in the StateStore, so a killed run resumes at the first unfinished role without
acting twice (the executor's ledger keys every call by its tool-call id). See
docs/adapters-agent-framework.md.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.adapters.agent_framework import patches
from agentrig.adapters.agent_framework.client import PlantChatClient, max_iterations_for
from agentrig.adapters.agent_framework.state import RunCheckpoint, RunCheckpoints
from agentrig.adapters.agent_framework.tools import plant_tools, role_tools_over_mcp
from agentrig.core.contract.agent import Outcome, RunContext, no_final_answer
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.core.telemetry.instrumentation import instrument_framework
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before Agent Framework is imported: it reads its opt-outs then

try:
    import agent_framework
    from agent_framework import Agent, AgentSession, MiddlewareFailure
    from agent_framework._tools import _FUNCTION_INVOCATION_LIMIT_FALLBACK_TEXT
    from openai import AsyncOpenAI
except ImportError as error:
    raise MissingExtraError("the Agent Framework adapter", "agent-framework") from error

__all__ = ["AgentFrameworkAdapter"]

logger = structlog.get_logger(__name__)


def _quiet_framework_logs() -> None:
    # Agent Framework logs every tool call at INFO under "agent_framework" ("Function name: ...",
    # "Function ... succeeded.", "Function duration: ..."), three lines per call; the spans carry
    # the steps. WARNING, unless the application chose a level for it.
    framework_logger = logging.getLogger("agent_framework")
    if framework_logger.level == logging.NOTSET:
        framework_logger.setLevel(logging.WARNING)


class AgentFrameworkAdapter:
    """Monitor, diagnostician and operator as three Agent Framework ``Agent``\\ s."""

    name = "agent-framework"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        _quiet_framework_logs()
        # PlantChatClient wraps an AsyncOpenAI whose connection pool belongs to the event loop it
        # first ran on: one client per (loop, endpoint, turn limit), closed by aclose() (see
        # adapters._loop_cache). The turn limit is part of the key because Agent Framework keeps
        # its loop's iteration limit on the client.
        self.clients: LoopClients[PlantChatClient] = LoopClients()

    @property
    def framework_version(self) -> str:
        return str(agent_framework.__version__)

    def _client(self, endpoint: ModelEndpoint, max_turns_per_role: int) -> PlantChatClient:
        options = endpoint.client_options()
        iterations = max_iterations_for(max_turns_per_role)
        return self.clients.get(
            f"{endpoint_digest(endpoint)}:{iterations}",
            lambda: PlantChatClient(
                AsyncOpenAI(**options), endpoint.model, max_iterations=iterations
            ),
        )

    async def aclose(self) -> None:
        """Close the model clients this event loop's runs used."""
        for client in self.clients.pop_loop():
            await client.close()

    def build_agent(self, ctx: RunContext, role: Role, tools: Any = None) -> Agent:
        """A new agent for one role of one run: its tools bound to the run's executor, or
        ``tools`` (a connected MCP tool, see :mod:`.mcp`)."""
        return Agent(
            self._client(ctx.model, ctx.max_turns_per_role),
            instructions=ctx.prompts[role],
            name=role,
            description=f"the {role} of the maintenance team",
            tools=plant_tools(ctx.tools[role]) if tools is None else tools,
        )

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        # Agent Framework's own spans are on by default and look like openai-v2's and the
        # plant's (chat, execute_tool): without OpenInference's processor marking them as the
        # framework's, every LLM and tool call would be counted twice. Idempotent.
        instrument_framework(self.name)
        checkpoints = RunCheckpoints(ctx.store, ctx.run_id)
        checkpoint = await checkpoints.load()
        if checkpoint is None:
            checkpoint = RunCheckpoint(framework_version=self.framework_version)
        else:
            ctx.telemetry.logger.info(
                "resuming the Agent Framework run",
                run_id=ctx.run_id,
                finished=list(checkpoint.answers),
            )
        alarm = ctx.alarm_text(task)
        for index, role in enumerate(ROLES):
            if role not in checkpoint.answers:
                received = [
                    (ROLES[number], ctx.handoffs.text_of(message))
                    for number, message in enumerate(checkpoint.handoffs)
                ]
                session = AgentSession(session_id=f"{ctx.run_id}:{role}")
                with ctx.telemetry.agent(role):
                    answer = await self._run_role(ctx, role, ctx.task_for(alarm, received), session)
                checkpoint = checkpoint.model_copy(
                    update={
                        "sessions": {**checkpoint.sessions, role: session.to_dict()},
                        "answers": {**checkpoint.answers, role: answer},
                    }
                )
                await checkpoints.save(checkpoint)
            if index + 1 < len(ROLES) and len(checkpoint.handoffs) <= index:
                previous = checkpoint.handoffs[-1] if checkpoint.handoffs else task
                received_message = await ctx.handoffs.hand_over(
                    role, ROLES[index + 1], checkpoint.answers[role], causation=previous
                )
                checkpoint = checkpoint.model_copy(
                    update={"handoffs": [*checkpoint.handoffs, received_message]}
                )
                await checkpoints.save(checkpoint)
        return Outcome.from_answers(checkpoint.answers)

    async def _run_role(
        self, ctx: RunContext, role: Role, task_text: str, session: AgentSession
    ) -> str:
        if ctx.mcp is None:
            return await self._run_agent(ctx, role, self.build_agent(ctx, role), task_text, session)
        from agentrig.adapters.agent_framework.mcp import mcp_tool

        async with mcp_tool(ctx.mcp[role], f"plant-{role}") as tool:
            agent = self.build_agent(ctx, role, tool)
            with role_tools_over_mcp(ctx.tools[role]):
                return await self._run_agent(ctx, role, agent, task_text, session)

    async def _run_agent(
        self, ctx: RunContext, role: Role, agent: Agent, task_text: str, session: AgentSession
    ) -> str:
        try:
            response = await agent.run(task_text, session=session)
        except MiddlewareFailure as failure:
            # A plant tool found the plant unusable: raise what the executor raised.
            if failure.__cause__ is not None:
                raise failure.__cause__ from failure
            raise
        answer = response.text
        if answer == _FUNCTION_INVOCATION_LIMIT_FALLBACK_TEXT:
            # Agent Framework's own text when its last, tool-less call gave no answer either.
            return no_final_answer(role, ctx.max_turns_per_role)
        return answer
