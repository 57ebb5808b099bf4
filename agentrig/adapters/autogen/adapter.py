"""The AutoGen AgentChat adapter: a RoundRobinGroupChat of three AssistantAgents.

One ``AssistantAgent`` per role (named after the role, with the role's prompt and its plant tools)
in a ``RoundRobinGroupChat`` that AgentChat routes monitor -> diagnostician -> operator by itself.
The team runs one turn at a time (``max_turns=1``; a team run again continues where it stopped),
which gives the two things a mid-run hook cannot: ``save_state()`` while the team is not running
(the only time AgentChat promises a consistent snapshot), and each handoff mirrored onto the bus
after its sender's turn and before its recipient's. See docs/adapters-autogen.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import structlog

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.adapters.autogen import patches
from agentrig.adapters.autogen.state import TeamCheckpoint, TeamCheckpoints
from agentrig.adapters.autogen.tools import PlantTool, PlantWorkbench, RunGuard
from agentrig.core.contract.agent import Outcome, RunContext
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.core.telemetry.facade import Telemetry
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()  # before AutoGen is imported: it reads AUTOGEN_DISABLE_RUNTIME_TRACING then

try:
    import autogen_agentchat
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.base import ChatAgent, Response, Team
    from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, TextMessage
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_core import CancellationToken, FunctionCall
    from autogen_core.models import FunctionExecutionResult, ModelFamily, ModelInfo
    from autogen_core.tools import BaseTool, Workbench
    from autogen_ext.models.openai import OpenAIChatCompletionClient
    from autogen_ext.models.openai._model_info import get_info as autogen_model_info
except ImportError as error:
    raise MissingExtraError("the AutoGen adapter", "autogen") from error

__all__ = ["UNKNOWN_MODEL_INFO", "AutoGenAdapter", "PlantTool", "PlantWorkbench", "model_info_for"]

logger = structlog.get_logger(__name__)

UNKNOWN_MODEL_INFO: ModelInfo = {
    "vision": False,
    "function_calling": True,
    # The workflow never asks for JSON or structured output; saying so makes AutoGen refuse such
    # a request up front instead of sending it to a model that may not support it.
    "json_output": False,
    "structured_output": False,
    "family": ModelFamily.UNKNOWN,
}
"""What AutoGen is told about a model id it does not know (the reference model, Ollama, vLLM...)."""

_CANCEL_GRACE_S = 5.0
"""How long a cancelled run waits for AgentChat's runtime to stop after cancelling its token."""


def model_info_for(model: str) -> ModelInfo:
    """AutoGen's own capabilities for a model id it knows, else :data:`UNKNOWN_MODEL_INFO`."""
    try:
        return autogen_model_info(model)
    except ValueError:  # "model_info is required when model name is not a valid OpenAI model"
        return UNKNOWN_MODEL_INFO


def _quiet_runtime_logs() -> None:
    # AgentChat's runtime logs every message it routes at INFO under "autogen_core", contents
    # included (tool results, answers), which agentrig keeps out of its logs unless asked; the
    # spans carry the steps. WARNING, unless the application chose a level for it.
    runtime_logger = logging.getLogger("autogen_core")
    if runtime_logger.level == logging.NOTSET:
        runtime_logger.setLevel(logging.WARNING)


class _RoleAgent(AssistantAgent):
    """An AssistantAgent whose every turn runs inside ``invoke_agent {role}``.

    ``on_messages_stream`` is AgentChat's per-agent entry point in a team; the team's runtime runs
    it in a task that copied the run's context, and the agent's model calls and tool tasks start
    inside it, so their ``chat`` and ``execute_tool`` spans are children of the role's span.
    """

    def __init__(self, role: Role, *, telemetry: Telemetry, guard: RunGuard, **options: Any):
        super().__init__(role, **options)
        self._agentrig_telemetry = telemetry
        self._agentrig_guard = guard

    @staticmethod
    async def _execute_tool_call(
        tool_call: FunctionCall,
        workbench: Sequence[Workbench],
        handoff_tools: list[BaseTool[Any, Any]],
        agent_name: str,
        cancellation_token: CancellationToken,
        stream: asyncio.Queue[BaseAgentEvent | BaseChatMessage | None],
    ) -> tuple[FunctionCall, FunctionExecutionResult]:
        # AgentChat's own step answers malformed arguments and unknown tools itself; the plant's
        # workbench gives those to the executor first, so every call the model makes is recorded.
        for bench in workbench:
            # PlantWorkbench, or PlantMcpWorkbench (--tools mcp; not imported without it)
            answer_unrunnable = getattr(bench, "answer_unrunnable", None)
            if answer_unrunnable is not None:
                answer = await answer_unrunnable(tool_call)
                if answer is not None:
                    return tool_call, answer
        return await AssistantAgent._execute_tool_call(
            tool_call, workbench, handoff_tools, agent_name, cancellation_token, stream
        )

    async def on_messages_stream(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | Response, None]:
        guard = self._agentrig_guard
        task = asyncio.current_task()
        if task is not None:
            guard.agent_tasks.add(task)
        with self._agentrig_telemetry.agent(self.name):
            try:
                async for item in super().on_messages_stream(messages, cancellation_token):
                    yield item
            except Exception as error:
                guard.record(error)
                raise
            finally:
                guard.agent_tasks.discard(task)


class AutoGenAdapter:
    """Monitor, diagnostician and operator as an AgentChat ``RoundRobinGroupChat``."""

    name = "autogen"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        _quiet_runtime_logs()
        # OpenAIChatCompletionClient wraps an AsyncOpenAI whose connection pool belongs to the
        # event loop it first ran on: one client per (loop, endpoint), closed by aclose()
        # (see adapters._loop_cache).
        self.clients: LoopClients[OpenAIChatCompletionClient] = LoopClients()

    @property
    def framework_version(self) -> str:
        return autogen_agentchat.__version__

    def _client(self, endpoint: ModelEndpoint) -> OpenAIChatCompletionClient:
        options = endpoint.client_options()
        return self.clients.get(
            endpoint_digest(endpoint),
            lambda: OpenAIChatCompletionClient(
                model=endpoint.model,
                base_url=options["base_url"],
                api_key=options["api_key"],
                timeout=options["timeout"],
                max_retries=options["max_retries"],
                model_info=model_info_for(endpoint.model),
            ),
        )

    async def aclose(self) -> None:
        """Close the model clients this event loop's runs used."""
        for client in self.clients.pop_loop():
            await client.close()

    def build_team(
        self,
        ctx: RunContext,
        guard: RunGuard | None = None,
        workbenches: Mapping[Role, Workbench] | None = None,
    ) -> RoundRobinGroupChat:
        """A new team for one run: AssistantAgents keep their context, so none is reused.

        ``workbenches``: each role's tools (default: its :class:`PlantWorkbench`).
        """
        guard = guard or RunGuard()
        client = self._client(ctx.model)
        if workbenches is None:
            workbenches = self.workbenches(ctx, guard)
        agents: list[ChatAgent | Team] = [
            _RoleAgent(
                role,
                telemetry=ctx.telemetry,
                guard=guard,
                model_client=client,
                workbench=workbenches[role],
                system_message=ctx.prompts[role],
                description=f"the {role} of the maintenance team",
                # AssistantAgent stops after one tool round unless told otherwise; with
                # reflection, running out of rounds still ends in an answer, and the role makes
                # at most max_turns_per_role model calls, as in every adapter.
                max_tool_iterations=max(1, ctx.max_turns_per_role - 1),
                reflect_on_tool_use=True,
            )
            for role in ROLES
        ]
        return RoundRobinGroupChat(agents, max_turns=1)

    @staticmethod
    def workbenches(ctx: RunContext, guard: RunGuard) -> dict[Role, Workbench]:
        """Each role's workbench: its plant tools, or with ``ctx.mcp`` its MCP server's."""
        order = asyncio.Lock()  # one per run: the tool calls of a response apply in order
        plant = {role: PlantWorkbench(ctx.tools[role], order=order, guard=guard) for role in ROLES}
        if ctx.mcp is None:
            return dict(plant)
        from agentrig.adapters.autogen.mcp import PlantMcpWorkbench

        return {role: PlantMcpWorkbench(ctx.mcp[role], plant[role]) for role in ROLES}

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        guard = RunGuard()
        workbenches = self.workbenches(ctx, guard)
        try:
            return await self._run_team(task, ctx, guard, workbenches)
        finally:
            if ctx.mcp is not None:
                for bench in workbenches.values():
                    await bench.stop()

    async def _run_team(
        self,
        task: Message,
        ctx: RunContext,
        guard: RunGuard,
        workbenches: Mapping[Role, Workbench],
    ) -> Outcome:
        team = self.build_team(ctx, guard, workbenches)
        checkpoints = TeamCheckpoints(ctx.store, ctx.run_id)
        checkpoint = await checkpoints.load()
        if checkpoint is None:
            checkpoint = TeamCheckpoint(framework_version=self.framework_version, team={})
        else:
            await self._load_team(team, checkpoint, checkpoints.key)
            ctx.telemetry.logger.info(
                "resuming the AutoGen team", run_id=ctx.run_id, finished=list(checkpoint.answers)
            )
        previous = checkpoint.handoffs[-1] if checkpoint.handoffs else task
        alarm = ctx.alarm_text(task)
        for index, role in enumerate(ROLES):
            if role not in checkpoint.answers:
                answer = await self._take_turn(
                    team, role, None if checkpoint.answers else alarm, guard
                )
                checkpoint = checkpoint.model_copy(
                    update={
                        "team": dict(await team.save_state()),
                        "answers": {**checkpoint.answers, role: answer},
                    }
                )
                await checkpoints.save(checkpoint)
            if index + 1 < len(ROLES) and len(checkpoint.handoffs) <= index:
                previous = await ctx.handoffs.hand_over(
                    role, ROLES[index + 1], checkpoint.answers[role], causation=previous
                )
                checkpoint = checkpoint.model_copy(
                    update={"handoffs": [*checkpoint.handoffs, previous]}
                )
                await checkpoints.save(checkpoint)
        return Outcome.from_answers(checkpoint.answers)

    async def _load_team(
        self, team: RoundRobinGroupChat, checkpoint: TeamCheckpoint, key: str
    ) -> None:
        try:
            await team.load_state(checkpoint.team)
        except (ValueError, KeyError, TypeError) as error:  # AgentChat's ways to refuse a state
            raise AdapterError(
                f"the AutoGen team state under {key!r} (written by autogen-agentchat "
                f"{checkpoint.framework_version}) does not load into {self.framework_version}: "
                f"{error}. It is left in place; delete the key to start the run over"
            ) from error

    async def _take_turn(
        self, team: RoundRobinGroupChat, role: Role, task: str | None, guard: RunGuard
    ) -> str:
        turn = asyncio.create_task(self._stream_turn(team, role, task, guard))
        try:
            return await asyncio.shield(turn)
        except asyncio.CancelledError:
            # Stop the team now rather than let its runtime finish the turn (or wait forever on
            # a cancelled tool call) after the run was given up.
            guard.stop()
            done, _ = await asyncio.wait([turn], timeout=_CANCEL_GRACE_S)
            if not done:
                turn.cancel()
            elif not turn.cancelled() and turn.exception() is not None:
                logger.warning(
                    "the cancelled AutoGen turn ended with an error",
                    role=role,
                    error=repr(turn.exception()),
                )
            raise

    async def _stream_turn(
        self, team: RoundRobinGroupChat, role: Role, task: str | None, guard: RunGuard
    ) -> str:
        answer: str | None = None
        try:
            async for item in team.run_stream(
                task=task, cancellation_token=guard.token, output_task_messages=False
            ):
                if isinstance(item, TextMessage):
                    if item.source != role:
                        raise AdapterError(
                            f"the AutoGen team gave the turn to {item.source!r} where the "
                            f"{role}'s was due: its saved state and answers disagree"
                        )
                    answer = item.content
        except Exception as error:
            # AgentChat reports an agent's failure as RuntimeError(str(error)): raise the original.
            if guard.failure is not None and guard.failure is not error:
                raise guard.failure from error
            raise
        guard.raise_failure()  # a tool found the plant unusable and AutoGen told only the model
        if answer is None:
            raise AdapterError(
                f"the AutoGen {role} agent ended its turn without a text answer; "
                "check the model endpoint and the run's trace"
            )
        return answer
