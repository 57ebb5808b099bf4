"""The CrewAI adapter: one Crew of three agents with three sequential tasks.

The monitor, diagnostician and operator are CrewAI ``Agent``s (the role prompt verbatim as the
backstory), each with its own ``Task``; ``Process.sequential`` runs them in order and CrewAI
routes the outputs itself -- the diagnostician's task has the monitor's as context, the
operator's both. The adapter adds what the rig needs around that idiom:

- **Off the event loop.** ``Crew.kickoff`` is synchronous: it runs in a thread of its own that
  carries the run's context, while the loop stays free to serve the tool calls and handoffs the
  thread sends back to it.
- **Tools.** Each plant tool is a ``BaseTool`` whose ``_run`` calls the role's
  :class:`~agentrig.core.contract.agent.BoundTool` (``call``), so every call goes through the plant's
  executor, with the model's tool-call id as the idempotency key. CrewAI's tool cache is off.
- **Handoffs** are mirrored onto the bus from the crew's task callback, in order, before the
  next task starts; the task outputs are saved to the StateStore there too
  (:mod:`agentrig.adapters.crewai.outputs`), so a killed run resumes from the last finished task.
- **Telemetry.** Each agent's ``execute_task`` runs inside ``invoke_agent {role}``, so the
  role's ``chat`` and ``execute_tool`` spans are its children.
- **Cancellation.** When the run is cancelled (the runner's timeout) or a tool finds the plant
  unusable, the crew is stopped at its next model or tool call by a CrewAI hook.

No memory, knowledge, embeddings or planning (they need an external key); verbose off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.adapters.crewai import patches
from agentrig.adapters.crewai.outputs import SavedTaskOutput, TaskOutputStore
from agentrig.adapters.crewai.run import (
    AgentrigCrew,
    CrewRun,
    PlantTool,
    RoleAgent,
    active_run,
    on_task_completed,
    stop_if_asked,
)
from agentrig.core.contract.agent import Outcome, RunContext
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.core.telemetry.context import start_thread
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before CrewAI is imported (see agentrig.core.contract.optouts)
try:
    import crewai
    from crewai import LLM, Agent, Crew, Process, Task
    from crewai.hooks.dispatch import HookAborted, InterceptionPoint, register_scoped, scoped_hooks
    from crewai.tasks.task_output import TaskOutput
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the CrewAI adapter", "crewai") from error

__all__ = ["EXPECTED_OUTPUTS", "GOALS", "CrewAIAdapter"]

logger = structlog.get_logger(__name__)

GOALS: dict[Role, str] = {
    "monitor": "Confirm or refute the alarm from the alarming device's status and telemetry.",
    "diagnostician": "Find the root cause of the alarm and the actions that would fix it.",
    "operator": "Act on the diagnosis safely, verify the result and report what was done.",
}
"""Each agent's CrewAI ``goal``; the role prompt itself is the agent's ``backstory``."""

EXPECTED_OUTPUTS: dict[Role, str] = {
    "monitor": "What you saw, ending with the ALARM_DEVICE, CONFIRMED and OBSERVED lines "
    "exactly as your instructions give them.",
    "diagnostician": "Your diagnosis, ending with the ROOT_CAUSE, DEVICE and "
    "RECOMMENDED_ACTIONS lines exactly as your instructions give them.",
    "operator": "What you did, ending with the ROOT_CAUSE, DEVICE, ACTIONS_TAKEN and ESCALATED "
    "lines exactly as your instructions give them.",
}
"""Each task's CrewAI ``expected_output``: the final-answer lines of :mod:`agentrig.core.contract.roles`."""


class CrewAIAdapter:
    """Monitor, diagnostician and operator as a sequential CrewAI crew."""

    name = "crewai"
    supports_mcp = True

    def __init__(self) -> None:
        patches.apply()
        # A crewai.LLM builds its openai clients when constructed (~38 ms of certificate
        # loading), so one is kept per (event loop, endpoint) and closed by aclose() (see
        # adapters._loop_cache). It is used only from worker threads, through its sync client.
        self.clients: LoopClients[Any] = LoopClients()

    @property
    def framework_version(self) -> str:
        return str(crewai.__version__)

    async def aclose(self) -> None:
        """Close the model clients this event loop's runs used."""
        for llm in self.clients.pop_loop():
            # The openai.OpenAI it built (a private attribute: see patches.INTERNALS).
            client = getattr(llm, "_client", None)
            if client is not None:
                client.close()

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        outputs = TaskOutputStore(ctx.store, ctx.run_id)
        saved = await outputs.load_all()
        run = CrewRun(ctx=ctx, loop=asyncio.get_running_loop(), outputs=outputs, previous=task)
        for done in saved:
            run.answers[done.role] = done.output
            if done.handoff_id is None:
                # Killed between saving the output and mirroring its handoff: mirror it now.
                await run.record(done)
        if len(saved) < len(ROLES):
            try:
                await _in_own_thread(
                    f"agentrig-crew-{ctx.run_id}",
                    self._kickoff,
                    run,
                    ctx.alarm_text(task),
                    saved,
                )
            except HookAborted as aborted:
                if run.failure is not None:
                    raise run.failure from aborted
                raise
            finally:
                # Cancelled (the runner's timeout) while the crew still runs: it stops at its
                # next model or tool call instead of running on in its thread.
                run.stop.set()
        return Outcome.from_answers(
            {role: run.answers[role] for role in ROLES if role in run.answers}
        )

    def _kickoff(
        self,
        run: CrewRun,
        alarm: str,
        saved: list[SavedTaskOutput],
    ) -> None:
        """Build the crew and run the tasks not yet done (in the crew's own thread)."""
        token = active_run.set(run)
        try:
            crew = _build_crew(run.ctx, alarm, saved, self._llm(run.loop, run.ctx.model))
            with scoped_hooks():
                register_scoped(InterceptionPoint.PRE_MODEL_CALL, stop_if_asked)
                register_scoped(InterceptionPoint.PRE_TOOL_CALL, stop_if_asked)
                crew.kickoff()
        finally:
            active_run.reset(token)

    def _llm(self, loop: asyncio.AbstractEventLoop, endpoint: ModelEndpoint) -> Any:
        options = endpoint.client_options()
        # "openai/<id>" selects CrewAI's native OpenAI provider (the openai SDK, no LiteLLM);
        # with a base_url it treats the endpoint as OpenAI-compatible.
        return self.clients.get(
            endpoint_digest(endpoint),
            lambda: LLM(
                model=f"openai/{endpoint.model}",
                base_url=options["base_url"],
                api_key=options["api_key"],
                timeout=options["timeout"],
                max_retries=options["max_retries"],
            ),
            loop=loop,
        )


async def _in_own_thread(name: str, function: Callable[..., None], *args: Any) -> None:
    """Run ``function(*args)`` in a new thread carrying this context; await its end.

    Not ``asyncio.to_thread``: a crew thread blocks while the event loop runs its tool calls,
    and those may need the loop's default executor themselves (the file store's I/O, DNS
    lookups); with as many crews as that executor has workers, nothing would move again.
    """
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def report(error: BaseException | None) -> None:
        if finished.done():  # the run was cancelled; nobody waits for this thread any more
            return
        if error is None:
            finished.set_result(None)
        else:
            finished.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            function(*args)
        except BaseException as raised:  # noqa: BLE001 - handed to the awaiting coroutine, raised there
            error = raised
        try:
            loop.call_soon_threadsafe(report, error)
        except RuntimeError:
            # The loop closed after a cancelled run: there is no one left to tell.
            logger.debug("crew thread ended after its event loop closed", thread=name, error=error)

    start_thread(target, name=name)
    await finished


def _build_crew(ctx: RunContext, alarm: str, saved: list[SavedTaskOutput], llm: Any) -> Crew:
    """The crew of the tasks not yet done; finished tasks carry their saved output as context."""
    description = ctx.task_for(alarm, [])
    agents: list[Agent] = []
    tasks: list[Task] = []
    for role in ROLES:
        if ctx.mcp is None:
            tools, mcps = [PlantTool.bind(tool) for tool in ctx.tools[role]], []
        else:
            from agentrig.adapters.crewai.mcp import mcp_server

            tools, mcps = [], [mcp_server(ctx.mcp[role])]
        agent = RoleAgent(
            role=role,
            goal=GOALS[role],
            backstory=ctx.prompts[role],
            llm=llm,
            tools=tools,
            mcps=mcps,
            # CrewAI makes one more call, without tools, for the final answer once max_iter
            # iterations are done: max_iter + 1 calls at most, as many as max_turns_per_role.
            max_iter=max(ctx.max_turns_per_role - 1, 0),
            cache=False,  # a cached tool result would not go through the executor
            allow_delegation=False,
            verbose=False,
        )
        agents.append(agent)
        tasks.append(
            Task(
                name=role,
                description=description,
                expected_output=EXPECTED_OUTPUTS[role],
                agent=agent,
                context=list(tasks),  # every earlier task's output, as CrewAI context
            )
        )
    for done in saved:
        tasks[done.index].output = TaskOutput(
            name=done.task_name,
            description=description,
            expected_output=EXPECTED_OUTPUTS[done.role],
            raw=done.output,
            agent=done.role,
        )
    first = len(saved)
    return AgentrigCrew(
        agents=agents[first:],
        tasks=tasks[first:],
        process=Process.sequential,
        task_callback=on_task_completed,
        cache=False,
        memory=False,
        planning=False,
        verbose=False,
    )
