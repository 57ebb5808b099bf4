"""What agentrig plugs into a running CrewAI crew: run state, tools, role agents and hooks.

A crew runs in a worker thread (``Crew.kickoff`` is synchronous); CrewAI starts more threads for
parallel tool calls, copying the context. So the run a crew works for is found through a
contextvar (:data:`active_run`), which keeps concurrent crews in one process apart and lets the
pieces below be plain classes and module-level functions:

- :class:`CrewRun`: the run's state, shared by the event loop and the crew's thread; it saves
  each finished task's output and mirrors its handoff onto the bus, on the run's loop.
- :func:`on_task_completed`: the crew's ``task_callback``.
- :class:`PlantTool`: a ``BaseTool`` over a role's :class:`~agentrig.core.contract.agent.BoundTool`.
- :class:`RoleAgent`: an ``Agent`` whose task execution is its role's ``invoke_agent`` span.
- :func:`stop_if_asked`: a pre-model-call / pre-tool-call hook that aborts a crew whose run is
  over (cancelled, or the plant became unusable).

The process-wide changes to CrewAI itself (the tool-call id passed to the tools, a reply's tool
calls run in order, the INFO chatter demoted) are in :mod:`agentrig.adapters.crewai.patches`,
applied when a :class:`~agentrig.adapters.crewai.CrewAIAdapter` is built.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, PrivateAttr

from agentrig.adapters.crewai.outputs import SavedTaskOutput, TaskOutputStore
from agentrig.core.contract.agent import HANDOFF_TIMEOUT_S, BoundTool, RunContext
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.messaging.message import Message
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()  # before CrewAI is imported (see agentrig.core.contract.optouts)
try:
    from crewai import Agent, Crew, Task
    from crewai.hooks.dispatch import HookAborted
    from crewai.tasks.task_output import TaskOutput
    from crewai.tools import BaseTool
    from crewai.utilities.task_output_storage_handler import TaskOutputStorageHandler
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the CrewAI adapter", "crewai") from error

__all__ = [
    "AgentrigCrew",
    "CrewRun",
    "NoKickoffLog",
    "PlantTool",
    "RoleAgent",
    "active_run",
    "current_tool_call_id",
    "on_task_completed",
    "stop_if_asked",
]

T = TypeVar("T")

LOOP_WAIT_S = HANDOFF_TIMEOUT_S + 30.0
"""How long the crew's thread waits for work it hands to the run's event loop (a handoff: send,
receive, two saves). The loop is normally free; this only bounds a loop that stopped while the
crew still ran."""

active_run: contextvars.ContextVar[CrewRun | None] = contextvars.ContextVar(
    "agentrig_crewai_run", default=None
)
"""The run the current crew thread works for."""

current_tool_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentrig_crewai_tool_call_id", default=None
)
"""The model's id of the tool call being executed in this thread, if CrewAI is running one."""


@dataclass
class CrewRun:
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
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(LOOP_WAIT_S)

    def fail(self, error: BaseException) -> None:
        """Stop the crew at its next model or tool call; the adapter then raises ``error``."""
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


def _stopped() -> HookAborted:
    return HookAborted("the agentrig run was cancelled or failed", source="agentrig")


def on_task_completed(output: TaskOutput) -> None:
    """The crew's ``task_callback``: save the output and mirror the handoff, before the next task.

    CrewAI calls it in the crew's thread. It is a module-level function, not a closure, because
    CrewAI warns about callbacks it cannot serialise; the run is found through the context.
    """
    run = active_run.get()
    if run is None:
        raise AdapterError("a task of agentrig's CrewAI crew completed outside an agentrig run")
    if run.stop.is_set():
        raise _stopped()  # the run is over: nothing more goes to its store or bus
    role = next((role for role in ROLES if role == output.agent), None)
    if role is None:
        raise AdapterError(f"a CrewAI task was completed by an unknown agent {output.agent!r}")
    text = str(output.raw)
    run.answers[role] = text
    saved = SavedTaskOutput(
        index=ROLES.index(role), role=role, task_name=output.name or role, output=text
    )
    run.on_loop(run.record(saved))


def stop_if_asked(hook_context: Any) -> None:
    """A pre-model-call and pre-tool-call hook: abort a crew whose run is over."""
    run = active_run.get()
    if run is not None and run.stop.is_set():
        raise _stopped()


class PlantTool(BaseTool):
    """A plant tool of one role: every call goes through the run's executor via BoundTool."""

    _bound: BoundTool = PrivateAttr()

    @classmethod
    def bind(cls, bound: BoundTool) -> PlantTool:
        tool = cls(
            name=bound.name,
            description=bound.description,
            args_schema=_with_plant_schema(bound.args_model, json.dumps(bound.parameters())),
        )
        tool._bound = bound
        return tool

    @property
    def bound(self) -> BoundTool:
        """The role's plant tool this CrewAI tool calls."""
        return self._bound

    def _validate_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # The executor validates (and records) every call, as it does for the other frameworks;
        # validating here first would answer a bad call without it reaching the ledger.
        return kwargs

    def _run(self, **arguments: Any) -> str:
        try:
            return self._bound.call(arguments, call_id=current_tool_call_id.get())
        except Exception as error:
            # The executor raises only when the plant itself is unusable. CrewAI would hand the
            # error to the model as an observation and go on; stop the crew instead.
            run = active_run.get()
            if run is not None:
                run.fail(error)
            raise


@functools.cache
def _with_plant_schema(args_model: type[BaseModel], schema_json: str) -> type[BaseModel]:
    """``args_model`` whose JSON schema is the plant's strict one, as every adapter sends it.

    CrewAI derives a tool's schema from its ``args_schema`` model itself, keeping pydantic's
    ``title``, ``default: null``, ``minLength`` and bounds -- keywords the plant's schema leaves
    out because strict function calling rejects some of them (``default``, on Azure) -- so the
    same tools would reach the model as different, longer text than in the other frameworks.
    One subclass per argument model, made once per process.
    """

    class PlantArguments(args_model):  # type: ignore[misc,valid-type]
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            schema: dict[str, Any] = json.loads(schema_json)
            return schema

    PlantArguments.__name__ = PlantArguments.__qualname__ = args_model.__name__
    return PlantArguments


class RoleAgent(Agent):
    """A CrewAI agent whose task execution is its role's ``invoke_agent`` span.

    The span is current while CrewAI runs the agent, so the role's ``chat`` and ``execute_tool``
    spans (and OpenInference's tool spans) are its children.
    """

    def execute_task(self, task: Task, context: str | None = None, tools: Any = None) -> Any:
        run = active_run.get()
        if run is None:
            return super().execute_task(task, context, tools)
        with run.ctx.telemetry.agent(self.role):
            return super().execute_task(task, context, tools)


class NoKickoffLog(TaskOutputStorageHandler):
    """CrewAI's "latest kickoff" task-output log, switched off: the StateStore keeps the outputs.

    CrewAI writes every task output of every crew to one SQLite file under HOME (for its
    ``crewai replay`` command) behind a file lock -- or a Redis lock when ``REDIS_URL`` is set --
    and each kickoff empties it, so concurrent runs overwrite each other's. It cost ~11 ms per run
    here and is never read: agentrig saves the outputs in the StateStore (crewai.outputs).
    """

    def __init__(self) -> None:  # no storage to open
        pass

    def update(self, task_index: int, log: dict[str, Any]) -> None:
        return None

    def add(self, *args: Any, **kwargs: Any) -> None:
        return None

    def reset(self) -> None:
        return None

    def load(self) -> list[dict[str, Any]] | None:
        return None


class AgentrigCrew(Crew):
    """A CrewAI ``Crew`` without CrewAI's own task-output log (see :class:`NoKickoffLog`)."""

    _task_output_handler: TaskOutputStorageHandler = PrivateAttr(default_factory=NoKickoffLog)
