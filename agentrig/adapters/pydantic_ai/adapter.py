"""The Pydantic AI adapter: one ``pydantic_ai.Agent`` per role, chained through the shared bus.

Each role -- monitor, diagnostician, operator -- is an ``Agent`` named after the role, with the
role's system prompt as its instructions, its plant tools as a toolset
(:class:`~agentrig.adapters.pydantic_ai.tools.PlantToolset`: every call, malformed or not,
reaches the plant's executor with the model's tool-call id as idempotency key) and text output.
The roles hand over on the bus: the next role's task is built from the message it received
there, as in the plain baseline (Pydantic AI has no multi-agent routing of its own; its docs
chain agents in application code, "programmatic agent hand-off").

The model is an ``OpenAIChatModel`` over an ``OpenAIProvider`` given agentrig's ``AsyncOpenAI``
client (built once per event loop and endpoint, closed by :meth:`PydanticAIAdapter.aclose`), so
base URL, key, timeout and retries are the endpoint's. Each agent runs node by node
(``Agent.iter``) and saves its message history into the run's StateStore after every step
(:mod:`.history`), so running the same run id again over the same store resumes: a role with a
final answer is not asked again, an interrupted one continues from its last step.
A role makes at most ``max_turns_per_role`` model requests (``UsageLimits.request_limit``), and
the tool calls of one response run one at a time, in the model's order
(``ToolManager.parallel_execution_mode("sequential")``). See docs/adapters-pydantic-ai.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.adapters.pydantic_ai import patches
from agentrig.adapters.pydantic_ai.history import RoleHistory
from agentrig.adapters.pydantic_ai.tools import ExecutorFallback, PlantToolset
from agentrig.core.contract.agent import Outcome, RunContext, no_final_answer, run_roles_over_bus
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.core.telemetry.instrumentation import content_capture_enabled, instrumented
from agentrig.core.telemetry.tracing import tracing_state
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    from openai import AsyncOpenAI
    from pydantic_ai import Agent
    from pydantic_ai.exceptions import UsageLimitExceeded
    from pydantic_ai.messages import ModelMessage
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider
    from pydantic_ai.tool_manager import ToolManager
    from pydantic_ai.toolsets import AbstractToolset
    from pydantic_ai.usage import UsageLimits
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the Pydantic AI adapter", "pydantic-ai") from error

__all__ = ["INSTRUMENTATION_NAME", "PydanticAIAdapter", "role_agent"]

INSTRUMENTATION_NAME = "pydantic-ai"
"""The framework name :func:`~agentrig.core.telemetry.instrument_framework` enables it under."""


@dataclass
class _LoopModel:
    model: OpenAIChatModel
    client: AsyncOpenAI


class PydanticAIAdapter:
    """Monitor, diagnostician and operator as three Pydantic AI agents handing over on the bus."""

    name = "pydantic-ai"
    supports_mcp = True
    mcp_requests_match_native = True

    def __init__(self) -> None:
        patches.apply()
        # An AsyncOpenAI pool belongs to the event loop it ran on: one model per (loop,
        # endpoint), its client closed by aclose() when that loop's runs are done.
        self.clients: LoopClients[_LoopModel] = LoopClients()
        self._version = version("pydantic-ai-slim")

    @property
    def framework_version(self) -> str:
        return self._version

    def _model(self, endpoint: ModelEndpoint) -> OpenAIChatModel:
        return self.clients.get(endpoint_digest(endpoint), lambda: _build_model(endpoint)).model

    async def aclose(self) -> None:
        """Close the model clients this event loop's runs used."""
        for cached in self.clients.pop_loop():
            await cached.client.close()

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        model = self._model(ctx.model)

        async def run_role(role: Role, task_text: str) -> str:
            return await self._run_role(model, ctx, role, task_text)

        return await run_roles_over_bus(task, ctx, run_role)

    async def _run_role(
        self, model: OpenAIChatModel, ctx: RunContext, role: Role, task: str
    ) -> str:
        history = RoleHistory(ctx.store, ctx.run_id, role, self.framework_version)
        saved = await history.load()
        if saved is not None and saved.answer is not None:
            ctx.telemetry.logger.info(
                "pydantic-ai: role already answered in its history", role=role
            )
            return saved.answer
        messages = saved.model_messages() if saved is not None and saved.messages else None
        if messages:
            ctx.telemetry.logger.info("pydantic-ai: resuming the role from its history", role=role)
        agent = role_agent(model, ctx, role)
        limits = UsageLimits(request_limit=max(1, ctx.max_turns_per_role))
        done: list[ModelMessage] = list(messages or [])
        try:
            # One call at a time, in the model's order: the plant's clock makes order matter.
            with ToolManager.parallel_execution_mode("sequential"):
                async with agent.iter(
                    None if messages else task, message_history=messages, usage_limits=limits
                ) as agent_run:
                    async for _ in agent_run:
                        # Each node is yielded before it runs: the history holds every step done
                        # (saved when a step added messages; half the nodes only prepare one).
                        if len(agent_run.all_messages()) != len(done):
                            done = agent_run.all_messages()
                            await history.save(done)
                    result = agent_run.result
                    done = agent_run.all_messages()
        except UsageLimitExceeded:
            # Out of turns is the agent's failure, not the framework's: answer as every adapter
            # does when it hits its limit, so it is graded (failed), not an error result.
            ctx.telemetry.logger.warning(
                "pydantic-ai: role ran out of model turns", role=role, turns=ctx.max_turns_per_role
            )
            answer = no_final_answer(role, ctx.max_turns_per_role)
            await history.save(done, answer=answer)
            return answer
        answer = result.output if result is not None else ""
        await history.save(done, answer=answer)
        return answer


def role_agent(model: OpenAIChatModel, ctx: RunContext, role: Role) -> Agent[None, str]:
    """The ``Agent`` of one role of one run: its prompt, its plant tools (from its MCP server
    with ``--tools mcp``, see :mod:`.mcp`), the executor fallback."""
    plant = PlantToolset(ctx.tools[role])
    tools: AbstractToolset[None] = plant
    if ctx.mcp is not None:
        from agentrig.adapters.pydantic_ai.mcp import PlantMcpToolset, mcp_toolset

        tools = PlantMcpToolset(wrapped=mcp_toolset(ctx.mcp[role]), plant=plant)
    agent: Agent[None, str] = Agent(
        model,
        name=role,
        instructions=ctx.prompts[role],
        output_type=str,
        toolsets=[tools],
        capabilities=[ExecutorFallback(plant)],
    )
    agent.instrument = _instrumentation()
    return agent


def _instrumentation() -> InstrumentationSettings | bool:
    # Pydantic AI's own spans only once agentrig's telemetry turned its OpenInference processor
    # on (core/telemetry/instrumentation.py); without it its `chat` spans would count every
    # model call a second time beside openai-v2's -- so False, not None, also when an
    # application called Agent.instrument_all().
    if INSTRUMENTATION_NAME not in instrumented():
        return False
    return InstrumentationSettings(
        tracer_provider=tracing_state().provider,
        include_content=content_capture_enabled(),
        include_binary_content=False,
        # Every tool definition on every request span; gen_ai.tool.definitions has them too.
        include_model_request_parameters=False,
    )


def _build_model(endpoint: ModelEndpoint) -> _LoopModel:
    client = AsyncOpenAI(**endpoint.client_options())
    model = OpenAIChatModel(endpoint.model, provider=OpenAIProvider(openai_client=client))
    return _LoopModel(model, client)
