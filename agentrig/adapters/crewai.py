"""The CrewAI adapter: one Crew of three agents with three sequential tasks.

The monitor, diagnostician and operator are CrewAI ``Agent``s (the role prompt verbatim as the
backstory), each with its own ``Task``; ``Process.sequential`` runs them in order and CrewAI
routes the outputs itself -- the diagnostician's task has the monitor's as context, the
operator's both. The adapter adds what the rig needs around that idiom:

- **Off the event loop.** ``Crew.kickoff`` is synchronous: it runs in a worker thread
  (``asyncio.to_thread``, which carries the run's context), while the loop stays free to serve
  the tool calls and handoffs the thread sends back to it.
- **Tools.** Each plant tool is a ``BaseTool`` whose ``_run`` calls the role's
  :class:`~agentrig.core.agent.BoundTool` (``call``), so every call goes through the plant's
  executor, with the model's tool-call id as the idempotency key. CrewAI's tool cache is off.
- **Handoffs** are mirrored onto the bus from the crew's task callback, in order, before the
  next task starts; the task outputs are saved to the StateStore there too
  (:mod:`agentrig.adapters.crewai_outputs`), so a killed run resumes from the last finished task.
- **Telemetry.** Each agent's ``execute_task`` runs inside ``invoke_agent {role}``, so the
  role's ``chat`` and ``execute_tool`` spans are its children.
- **Cancellation.** When the run is cancelled (the runner's timeout) or a tool finds the plant
  unusable, the crew is stopped at its next model or tool call by a CrewAI hook.

No memory, knowledge, embeddings or planning (they need an external key); verbose off.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import PrivateAttr

from agentrig.adapters.crewai_outputs import SavedTaskOutput, TaskOutputStore
from agentrig.core.agent import HANDOFF_TIMEOUT_S, BoundTool, Outcome, RunContext
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.message import Message
from agentrig.core.optouts import disable_phone_home
from agentrig.core.roles import ROLES, Role
from agentrig.exceptions import AdapterError, MissingExtraError

# CrewAI reads its opt-outs at import and at every kickoff; offline it otherwise waits on its
# telemetry and tracing endpoints (agentrig.core.optouts).
disable_phone_home()
try:
    import crewai
    from crewai import LLM, Agent, Crew, Process, Task
    from crewai.agents.agent_executor import AgentExecutor
    from crewai.hooks.dispatch import (
        HookAborted,
        InterceptionPoint,
        register_scoped,
        scoped_hooks,
    )
    from crewai.tasks.task_output import TaskOutput
    from crewai.tools import BaseTool
    from crewai.utilities.agent_utils import extract_tool_call_info
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the CrewAI adapter", "crewai") from error

__all__ = ["EXPECTED_OUTPUTS", "GOALS", "CrewAIAdapter"]

T = TypeVar("T")

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
"""Each task's CrewAI ``expected_output``: the final-answer lines of :mod:`agentrig.core.roles`."""

# How long the crew's thread waits for work it hands to the run's event loop (a handoff: send,
# receive and two saves) before it gives up; the loop is normally free, so this only bounds a
# loop that stopped while the thread still ran.
_LOOP_WAIT_S = HANDOFF_TIMEOUT_S + 30.0

# The run the current crew thread works for, and the model's id of the tool call being executed.
# Both are contextvars so that CrewAI's own worker threads (parallel tool calls copy the context)
# see them too, and concurrent crews in one process stay apart.
_active_run: contextvars.ContextVar[_CrewRun | None] = contextvars.ContextVar(
    "agentrig_crewai_run", default=None
)
_tool_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentrig_crewai_tool_call_id", default=None
)


@dataclass
class _CrewRun:
    """One run's state, shared by the event loop and the crew's thread."""

    ctx: RunContext
    loop: asyncio.AbstractEventLoop
    outputs: TaskOutputStore
    previous: Message
    """The last message this run received on the bus (the alarm first): the next causation."""
    answers: dict[Role, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    failure: BaseException | None = None
    """Why the crew was stopped from inside (the plant became unusable), if it was."""

    def on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the run's event loop from the crew's thread; wait for it."""
        # run_coroutine_threadsafe carries this thread's context (run labels, current span).
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(_LOOP_WAIT_S)

    def fail(self, error: BaseException) -> None:
        """Stop the crew at its next model or tool call; run() raises ``error``."""
        if self.failure is None:
            self.failure = error
        self.stop.set()

    async def record(self, saved: SavedTaskOutput) -> None:
        """Save a finished task's output, then mirror its handoff onto the bus (if any)."""
        await self.outputs.save(saved)
        if saved.index + 1 < len(ROLES):
            message = await self.ctx.handoffs.hand_over(
                saved.role, ROLES[saved.index + 1], saved.output, causation=self.previous
            )
            self.previous = message
            await self.outputs.save(saved.model_copy(update={"handoff_id": message.id}))


def _on_task_completed(output: TaskOutput) -> None:
    """The crew's ``task_callback``: runs in the crew's thread as each task completes.

    A module-level function (not a closure) because CrewAI warns about callbacks it cannot
    serialise; the run is found through the thread's context.
    """
    run = _active_run.get()
    if run is None:
        raise AdapterError("a CrewAI task of agentrig's crew completed outside an agentrig run")
    role = next((role for role in ROLES if role == output.agent), None)
    if role is None:
        raise AdapterError(f"a CrewAI task completed by an unknown agent {output.agent!r}")
    text = str(output.raw)
    run.answers[role] = text
    saved = SavedTaskOutput(
        index=ROLES.index(role), role=role, task_name=output.name or role, output=text
    )
    run.on_loop(run.record(saved))


def _stop_if_asked(hook_context: Any) -> None:
    """A CrewAI pre-model-call and pre-tool-call hook: abort a crew whose run is over."""
    run = _active_run.get()
    if run is not None and run.stop.is_set():
        raise HookAborted("the agentrig run was cancelled or failed", source="agentrig")


class _PlantTool(BaseTool):
    """A plant tool of one role: every call goes through the run's executor via BoundTool."""

    _bound: BoundTool = PrivateAttr()

    @classmethod
    def bind(cls, bound: BoundTool) -> _PlantTool:
        tool = cls(name=bound.name, description=bound.description, args_schema=bound.args_model)
        tool._bound = bound
        return tool

    def _validate_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # The executor validates (and records) every call, as it does for the other frameworks;
        # validating here first would answer a bad call without it reaching the ledger.
        return kwargs

    def _run(self, **arguments: Any) -> str:
        try:
            return self._bound.call(arguments, call_id=_tool_call_id.get())
        except Exception as error:
            # The executor raises only when the plant itself is unusable. CrewAI would hand the
            # error to the model as an observation and go on; stop the crew instead.
            run = _active_run.get()
            if run is not None:
                run.fail(error)
            raise


def _pass_tool_call_ids() -> None:
    """Let the tools see the model's tool-call id, to use as the idempotency key.

    CrewAI 1.15 gives a tool only its arguments; the id is known one frame up, in
    ``AgentExecutor._execute_single_native_tool_call``. ``AgentExecutor`` is a Flow whose steps
    CrewAI finds by parsing the class's own source, so a subclass would have none; the method is
    wrapped once per process instead, and the wrapper only sets a contextvar around it.
    """
    original = AgentExecutor._execute_single_native_tool_call
    if getattr(original, "_agentrig_passes_call_id", False):
        return

    @functools.wraps(original)
    def execute_single_native_tool_call(self: Any, tool_call: Any) -> Any:
        info = extract_tool_call_info(tool_call)
        token = _tool_call_id.set(str(info[0]) if info and info[0] else None)
        try:
            return original(self, tool_call)
        finally:
            _tool_call_id.reset(token)

    execute_single_native_tool_call._agentrig_passes_call_id = True  # type: ignore[attr-defined]
    AgentExecutor._execute_single_native_tool_call = execute_single_native_tool_call  # type: ignore[method-assign]


_pass_tool_call_ids()


class _RoleAgent(Agent):
    """A CrewAI agent whose task execution is its role's ``invoke_agent`` span."""

    def execute_task(self, task: Task, context: str | None = None, tools: Any = None) -> Any:
        run = _active_run.get()
        if run is None:
            return super().execute_task(task, context, tools)
        with run.ctx.telemetry.agent(self.role):
            return super().execute_task(task, context, tools)


class CrewAIAdapter:
    """Monitor, diagnostician and operator as a sequential CrewAI crew."""

    name = "crewai"

    def __init__(self) -> None:
        # A crewai.LLM builds its openai clients when constructed (~38 ms of certificate
        # loading), so one is kept per (event loop, endpoint) and closed by aclose(). It is used
        # only from worker threads, through its synchronous client.
        self._llms: dict[tuple[int, str], Any] = {}
        self._llms_lock = threading.Lock()

    @property
    def framework_version(self) -> str:
        return str(crewai.__version__)

    async def aclose(self) -> None:
        """Close the model clients this event loop's runs used."""
        loop_id = id(asyncio.get_running_loop())
        with self._llms_lock:
            llms = [self._llms.pop(key) for key in [k for k in self._llms if k[0] == loop_id]]
        for llm in llms:
            client = getattr(llm, "_client", None)  # the openai.OpenAI it built
            if client is not None:
                client.close()

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        outputs = TaskOutputStore(ctx.store, ctx.run_id)
        saved = await outputs.load_all()
        run = _CrewRun(ctx=ctx, loop=asyncio.get_running_loop(), outputs=outputs, previous=task)
        for done in saved:
            run.answers[done.role] = done.output
            if done.handoff_id is None:
                # Killed between saving the output and mirroring its handoff: mirror it now.
                await run.record(done)
        if len(saved) < len(ROLES):
            llm_key = (id(run.loop), _endpoint_digest(ctx.model))
            try:
                await asyncio.to_thread(self._kickoff, run, ctx.alarm_text(task), saved, llm_key)
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
        run: _CrewRun,
        alarm: str,
        saved: list[SavedTaskOutput],
        llm_key: tuple[int, str],
    ) -> None:
        """Build the crew and run the tasks not yet done (in a worker thread)."""
        token = _active_run.set(run)
        try:
            crew = _build_crew(run.ctx, alarm, saved, self._llm(llm_key, run.ctx.model))
            with scoped_hooks():
                register_scoped(InterceptionPoint.PRE_MODEL_CALL, _stop_if_asked)
                register_scoped(InterceptionPoint.PRE_TOOL_CALL, _stop_if_asked)
                crew.kickoff()
        finally:
            _active_run.reset(token)

    def _llm(self, key: tuple[int, str], endpoint: ModelEndpoint) -> Any:
        with self._llms_lock:
            llm = self._llms.get(key)
            if llm is None:
                options = endpoint.client_options()
                # "openai/<id>" selects CrewAI's native OpenAI provider (the openai SDK, no
                # LiteLLM); with a base_url it treats the endpoint as OpenAI-compatible.
                llm = self._llms[key] = LLM(
                    model=f"openai/{endpoint.model}",
                    base_url=options["base_url"],
                    api_key=options["api_key"],
                    timeout=options["timeout"],
                    max_retries=options["max_retries"],
                )
            return llm


def _endpoint_digest(endpoint: ModelEndpoint) -> str:
    options = {**endpoint.client_options(), "model": endpoint.model}
    return hashlib.sha256(repr(sorted(options.items())).encode()).hexdigest()


def _build_crew(ctx: RunContext, alarm: str, saved: list[SavedTaskOutput], llm: Any) -> Crew:
    """The crew of the tasks not yet done; finished tasks carry their saved output as context."""
    description = ctx.task_for(alarm, [])
    agents: list[Agent] = []
    tasks: list[Task] = []
    for role in ROLES:
        agent = _RoleAgent(
            role=role,
            goal=GOALS[role],
            backstory=ctx.prompts[role],
            llm=llm,
            tools=[_PlantTool.bind(tool) for tool in ctx.tools[role]],
            max_iter=ctx.max_turns_per_role,
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
    return Crew(
        agents=agents[first:],
        tasks=tasks[first:],
        process=Process.sequential,
        task_callback=_on_task_completed,
        cache=False,
        memory=False,
        planning=False,
        verbose=False,
    )
