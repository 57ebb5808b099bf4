"""The smolagents adapter: one ``ToolCallingAgent`` per role, the roles chained over the bus.

Each role is a smolagents ``ToolCallingAgent`` (:class:`~agentrig.adapters.smolagents.agent.RoleAgent`)
with the role's plant tools, the role prompt as its system prompt and smolagents'
``OpenAIServerModel`` pointed at the run's endpoint. It works the smolagents way: a ReAct loop of
steps kept in its own memory, native tool calls, and a ``final_answer`` tool call to finish.
smolagents' own multi-agent idiom is a *manager* agent that calls the others as tools
(``managed_agents``): a fourth, model-driven agent deciding the order, which this workflow fixes.
So the three agents run in order and hand over through the bus, as in the plain baseline and
LangChain. The adapter adds what the rig needs around that:

- **Off the event loop.** ``agent.run`` is synchronous: each role runs in a thread of its own
  that carries the run's context, while the loop stays free to serve the tool calls the thread
  sends back to it (``BoundTool.call`` waits on the run's loop for the plant's async executor).
- **Tools.** Every call the model makes goes through the plant's executor, in the model's order,
  keyed by the model's tool-call id (:meth:`RoleAgent.process_tool_calls`).
- **Persistence.** smolagents has no way to load an agent's memory back, so a run resumes at role
  granularity from the answers saved in the StateStore (:mod:`.answers`).
- **Telemetry.** Each role's agent runs inside ``invoke_agent {role}``; OpenInference's
  smolagents spans (agent run, steps, model, tools) are its children.
- **Cancellation.** When the run is cancelled (the runner's timeout) or a tool finds the plant
  unusable, the agent is interrupted and no further tool call reaches the plant.

smolagents' own console output is off (``LogLevel.OFF``), its 60-second rate-limit retry too
(``retry=False``): the endpoint's ``max_retries`` on the ``openai`` client is the one retry policy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.adapters.smolagents import patches
from agentrig.adapters.smolagents.agent import PlantTool, RoleAgent, role_prompt_templates
from agentrig.adapters.smolagents.answers import RoleAnswerStore, SavedAnswer
from agentrig.core.contract.agent import Outcome, RunContext
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.core.telemetry.context import start_thread
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before smolagents (and huggingface_hub) is imported
try:
    import openai
    import smolagents
    from smolagents import LogLevel, OpenAIServerModel, Tool
    from smolagents.memory import ActionStep
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the smolagents adapter", "smolagents") from error

__all__ = ["SmolagentsAdapter", "max_steps_for"]

logger = structlog.get_logger(__name__)

T = TypeVar("T")


def max_steps_for(max_turns_per_role: int) -> int:
    """The ``max_steps`` that keeps a role within ``max_turns_per_role`` model calls.

    A ToolCallingAgent that uses up ``max_steps`` steps makes one more model call, without tools,
    for its final answer (``provide_final_answer``): ``max_steps + 1`` calls at most. Never 0:
    smolagents 1.26 then fails with ``UnboundLocalError`` (``_run_stream`` yields an
    ``action_step`` it never made), so a limit of one turn allows two.
    """
    return max(max_turns_per_role - 1, 1)


class SmolagentsAdapter:
    """Monitor, diagnostician and operator as three smolagents ToolCallingAgents."""

    name = "smolagents"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        # One OpenAIServerModel (and the openai.OpenAI it wraps) per (event loop, endpoint),
        # closed by aclose() (see adapters._loop_cache). It is used only from the roles' threads.
        self.clients: LoopClients[OpenAIServerModel] = LoopClients()

    @property
    def framework_version(self) -> str:
        return str(smolagents.__version__)

    async def aclose(self) -> None:
        """Close the model clients this event loop's runs used."""
        for model in self.clients.pop_loop():
            model.client.close()

    def _model(self, endpoint: ModelEndpoint) -> OpenAIServerModel:
        options = endpoint.client_options()
        return self.clients.get(
            endpoint_digest(endpoint),
            lambda: OpenAIServerModel(
                model_id=endpoint.model, client=openai.OpenAI(**options), retry=False
            ),
        )

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        model = self._model(ctx.model)
        answers = RoleAnswerStore(ctx.store, ctx.run_id)
        saved = {done.role: done for done in await answers.load_all()}
        alarm = ctx.alarm_text(task)
        received: list[tuple[Role, str]] = []
        previous = task
        for index, role in enumerate(ROLES):
            done = saved.get(role)
            if done is None:
                with ctx.telemetry.agent(role):
                    done = await self._run_role(model, ctx, role, ctx.task_for(alarm, received))
                await answers.save(done)
            if index + 1 == len(ROLES):
                saved[role] = done
                break
            if done.handoff_id is None:
                previous = await ctx.handoffs.hand_over(
                    role, ROLES[index + 1], done.answer, causation=previous
                )
                done = done.model_copy(update={"handoff_id": previous.id})
                await answers.save(done)
                received.append((role, ctx.handoffs.text_of(previous)))
            else:
                received.append((role, done.answer))  # handed over before the restart
            saved[role] = done
        return Outcome.from_answers({role: saved[role].answer for role in ROLES})

    async def _run_role(
        self, model: OpenAIServerModel, ctx: RunContext, role: Role, task_text: str
    ) -> SavedAnswer:
        stop = threading.Event()
        if ctx.mcp is None:
            return await self._run_agent(model, ctx, role, task_text, stop, None)
        from agentrig.adapters.smolagents.mcp import open_mcp_tools

        # Connecting blocks until the session is up, and the run's MCP server is served on
        # this loop: connect and disconnect in a thread, as the agent runs.
        name = f"agentrig-smolagents-mcp-{ctx.run_id}-{role}"
        client = await _in_own_thread(name, open_mcp_tools, ctx.mcp[role])
        try:
            return await self._run_agent(model, ctx, role, task_text, stop, client.get_tools())
        finally:
            await _in_own_thread(name, client.disconnect)

    async def _run_agent(
        self,
        model: OpenAIServerModel,
        ctx: RunContext,
        role: Role,
        task_text: str,
        stop: threading.Event,
        mcp_tools: list[Tool] | None,
    ) -> SavedAnswer:
        agent = RoleAgent(
            role,
            [PlantTool(bound, stop) for bound in ctx.tools[role]],
            stop,
            mcp_tools=mcp_tools,
            model=model,
            prompt_templates=role_prompt_templates(ctx.prompts[role]),
            instructions=ctx.prompts[role],
            max_steps=max_steps_for(ctx.max_turns_per_role),
            verbosity_level=LogLevel.OFF,
        )
        try:
            answer = await _in_own_thread(
                f"agentrig-smolagents-{ctx.run_id}-{role}", agent.run, task_text
            )
        finally:
            # Cancelled (the runner's timeout) or failed while the agent still runs: it stops at
            # its next step, and no tool call it is about to make reaches the plant.
            stop.set()
            agent.interrupt()
        steps = sum(1 for step in agent.memory.steps if isinstance(step, ActionStep))
        return SavedAnswer(index=ROLES.index(role), role=role, answer=str(answer), steps=steps)


async def _in_own_thread(name: str, function: Callable[..., T], *args: Any) -> T:
    """Run ``function(*args)`` in a new thread carrying this context; await its result.

    Not ``asyncio.to_thread``: the thread blocks while the event loop runs its tool calls, and
    those may need the loop's default executor themselves (the file store's I/O, DNS lookups);
    with as many roles running as that executor has workers, nothing would move again.
    """
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[T] = loop.create_future()

    def report(result: Any, error: BaseException | None) -> None:
        if finished.done():  # the run was cancelled; nobody waits for this thread any more
            return
        if error is None:
            finished.set_result(result)
        else:
            finished.set_exception(error)

    def target() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = function(*args)
        except BaseException as raised:  # noqa: BLE001 - handed to the awaiting coroutine, raised there
            error = raised
        try:
            loop.call_soon_threadsafe(report, result, error)
        except RuntimeError:
            # The loop closed after a cancelled run: there is no one left to tell.
            logger.debug("agent thread ended after its event loop closed", thread=name, error=error)

    start_thread(target, name=name)
    return await finished
