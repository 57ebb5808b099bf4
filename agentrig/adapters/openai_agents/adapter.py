"""The OpenAI Agents SDK adapter: an ``Agent`` per role, each run by ``Runner.run`` on its session.

One ``agents.Agent`` per role (named after the role, the role's prompt as its instructions, its
plant tools as ``FunctionTool``s) on an ``OpenAIChatCompletionsModel`` -- the reference model and
every OpenAI-compatible server speak Chat Completions -- over an ``AsyncOpenAI`` client from
:class:`~agentrig.adapters._loop_cache.LoopClients`. Each role is one ``Runner.run`` with a
:class:`~.session.StoreSession` (the SDK's ``Session`` protocol on the StateStore), chained in
code -- the SDK's own pattern for a fixed order of agents -- with each handoff a protocol message
on the bus from which the next role's task is built. Why not the SDK's ``handoffs=[...]``: see
docs/adapters-openai-agents.md.
"""

from __future__ import annotations

from typing import Any, cast

from openai import AsyncOpenAI

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.adapters.openai_agents import patches
from agentrig.adapters.openai_agents.session import ProgressStore, RunProgress, StoreSession
from agentrig.adapters.openai_agents.tools import PlantAgent, RunGuard
from agentrig.core.contract.agent import Outcome, RunContext, no_final_answer
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    from agents import (
        AgentsException,
        ModelSettings,
        OpenAIChatCompletionsModel,
        RunConfig,
        RunErrorHandlerInput,
        RunErrorHandlerResult,
        Runner,
    )
    from agents.version import __version__ as agents_version
except ImportError as error:
    raise MissingExtraError("the OpenAI Agents adapter", "openai-agents") from error

__all__ = ["OpenAIAgentsAdapter"]


class OpenAIAgentsAdapter:
    """Monitor, diagnostician and operator as three SDK ``Agent``s, each run on its session."""

    name = "openai-agents"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        # One AsyncOpenAI per (event loop, endpoint), closed by aclose() (see adapters._loop_cache).
        self.clients: LoopClients[AsyncOpenAI] = LoopClients()

    @property
    def framework_version(self) -> str:
        return agents_version

    def _client(self, endpoint: ModelEndpoint) -> AsyncOpenAI:
        options = endpoint.client_options()
        return self.clients.get(endpoint_digest(endpoint), lambda: AsyncOpenAI(**options))

    async def aclose(self) -> None:
        """Close the clients this event loop's runs used."""
        for client in self.clients.pop_loop():
            await client.close()

    def build_agents(self, ctx: RunContext, guard: RunGuard) -> dict[Role, PlantAgent]:
        """The three agents of one run, on the run's model endpoint."""
        client = self._client(ctx.model)
        model = OpenAIChatCompletionsModel(model=ctx.model.model, openai_client=client)
        # For api.openai.com the SDK sends store=true unless told (chatcmpl_helpers.get_store_param),
        # keeping every completion on OpenAI's side; the other adapters send nothing (false).
        store = False if str(client.base_url).startswith("https://api.openai.com") else None
        return {
            role: PlantAgent.for_role(
                role,
                ctx.tools[role],
                guard,
                instructions=ctx.prompts[role],
                model=model,
                # Otherwise the SDK's defaults, which send nothing more to other servers.
                model_settings=ModelSettings(store=store),
            )
            for role in ROLES
        }

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        guard = RunGuard()
        role_agents = self.build_agents(ctx, guard)
        progress_store = ProgressStore(ctx.store, ctx.run_id)
        progress = await progress_store.load()
        if progress is None:
            progress = RunProgress(framework_version=self.framework_version)
        else:
            ctx.telemetry.logger.info(
                "resuming the OpenAI Agents run", run_id=ctx.run_id, finished=list(progress.answers)
            )
        alarm = ctx.alarm_text(task)
        previous = progress.handoffs[-1] if progress.handoffs else task
        for index, role in enumerate(ROLES):
            if role not in progress.answers:
                received = [
                    (ROLES[number], ctx.handoffs.text_of(message))
                    for number, message in enumerate(progress.handoffs[:index])
                ]
                with ctx.telemetry.agent(role):
                    answer = await self._run_role(
                        role_agents[role], ctx, ctx.task_for(alarm, received), guard
                    )
                progress = progress.model_copy(
                    update={"answers": {**progress.answers, role: answer}}
                )
                await progress_store.save(progress)
            if index + 1 < len(ROLES) and len(progress.handoffs) <= index:
                previous = await ctx.handoffs.hand_over(
                    role, ROLES[index + 1], progress.answers[role], causation=previous
                )
                progress = progress.model_copy(update={"handoffs": [*progress.handoffs, previous]})
                await progress_store.save(progress)
        return Outcome.from_answers(progress.answers)

    async def _run_role(
        self, agent: PlantAgent, ctx: RunContext, task: str, guard: RunGuard
    ) -> str:
        role = agent.name
        session = StoreSession(ctx.store, ctx.run_id, role)
        # A role that was under way when the run died goes on from its session: its task and
        # every finished turn are there, so it is not given the task again. One that had
        # answered (the run died before its progress was saved) is not asked again.
        last = await session.get_items(limit=1)
        answered = _final_answer(last[-1]) if last else None
        if answered is not None:
            return answered
        if ctx.mcp is None:
            return await self._run_agent(agent, ctx, task, guard, session, resumed=bool(last))
        from agentrig.adapters.openai_agents.mcp import MCP_CONFIG, mcp_server

        # The role's tools from its MCP server instead of the bound ones; a stray call still
        # reaches the executor in-process (PlantAgent.stray_tool).
        async with mcp_server(ctx.mcp[cast("Role", role)], guard, f"agentrig-{role}") as server:
            over_mcp = cast(
                "PlantAgent", agent.clone(tools=[], mcp_servers=[server], mcp_config=MCP_CONFIG)
            )
            return await self._run_agent(over_mcp, ctx, task, guard, session, resumed=bool(last))

    async def _run_agent(
        self,
        agent: PlantAgent,
        ctx: RunContext,
        task: str,
        guard: RunGuard,
        session: StoreSession,
        *,
        resumed: bool,
    ) -> str:
        role = agent.name
        max_turns = ctx.max_turns_per_role

        def out_of_turns(_: RunErrorHandlerInput[Any]) -> RunErrorHandlerResult:
            return RunErrorHandlerResult(final_output=no_final_answer(role, max_turns))

        try:
            result = await Runner.run(
                agent,
                [] if resumed else task,
                session=session,
                max_turns=max_turns,
                error_handlers={"max_turns": out_of_turns},
                run_config=RunConfig(workflow_name=f"agentrig {role}", group_id=ctx.run_id),
            )
        except AgentsException as error:
            # The SDK wraps a tool's exception in UserError: raise the plant's own error.
            if guard.failure is not None:
                raise guard.failure from error
            raise
        output = result.final_output
        answer = output if isinstance(output, str) else str(output)
        if not answer.strip():
            # The SDK ends a run whose reply has no message and no tool call (``choices: []``
            # included) with an empty final output rather than an error; said here, not hidden.
            ctx.telemetry.logger.warning(
                "the OpenAI Agents SDK ended the role with an empty answer", role=role
            )
        return answer


def _final_answer(item: Any) -> str | None:
    """The text of a session's last item when it is the role's final answer, else None.

    The SDK stores a turn's assistant message before the turn's tool calls, so an assistant
    message that is the *last* item ended a turn without tool calls: the run's final output.
    """
    if not isinstance(item, dict) or item.get("role") != "assistant":
        return None
    if item.get("type", "message") != "message":
        return None
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    return "".join(
        part.get("text", "")
        for part in content
        if isinstance(part, dict) and part.get("type") == "output_text"
    )
