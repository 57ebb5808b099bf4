"""The agent interface: what every framework adapter implements and what it is handed.

An adapter turns a task -- the alarm :class:`Message` -- plus a :class:`RunContext` into an
:class:`Outcome`, running the same three roles (monitor, diagnostician, operator) in its framework's
own idiom. Everything an adapter needs comes from the context: the role-bound tools (every call goes
through the plant's one :class:`ToolExecutor`), the model endpoint, the state store, the bus (role
handoffs are protocol messages on it, see :class:`Handoffs`) and the run's telemetry. The role
prompts live once, in :mod:`agentrig.core.contract.roles`.

Adapters register under the ``agentrig.adapters`` entry-point group (see
:mod:`agentrig.core.contract.registry`), so a third party can add one without forking.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.contract.roles import ROLES, SYSTEM_PROMPTS, Role, build_task, parse_final_answer
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging.base import MessageBus
from agentrig.core.messaging.message import Message
from agentrig.core.plant.executor import ToolExecutor
from agentrig.core.plant.tools import ToolSpec, tools_for_role
from agentrig.core.state.base import StateStore
from agentrig.core.telemetry.facade import Telemetry
from agentrig.exceptions import BusError

__all__ = [
    "HANDOFF_TIMEOUT_S",
    "AgentAdapter",
    "BoundTool",
    "Handoffs",
    "Outcome",
    "RunContext",
    "bind_tools",
    "no_final_answer",
    "run_roles_over_bus",
]

HANDOFF_TIMEOUT_S = 30.0
"""How long a role waits for its handoff on the bus before the run fails."""


class BoundTool:
    """A plant tool bound to one role and the run's executor: what an adapter gives its framework.

    ``await acall(args)`` from async code, ``call(args)`` from a worker thread (CrewAI); both go
    through the one executor and return the text the model reads (always a JSON object). Pass the
    framework's tool-call id as ``call_id`` when there is one: it becomes the idempotency key, so
    a replayed call is never applied twice.
    """

    def __init__(self, spec: ToolSpec, role: Role, executor: ToolExecutor) -> None:
        self.spec = spec
        self.role = role
        self.executor = executor

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def args_model(self) -> type[BaseModel]:
        return self.spec.args_model

    def parameters(self) -> dict[str, Any]:
        """The arguments' JSON schema (valid for OpenAI strict function calling)."""
        return self.spec.json_schema()

    def openai_tool(self, *, strict: bool = True) -> dict[str, Any]:
        """The tool in the Chat Completions ``tools`` format."""
        return self.spec.openai_tool(strict=strict)

    async def acall(
        self, arguments: Mapping[str, Any] | str | None, *, call_id: str | None = None
    ) -> str:
        """Run the tool; return the result text the model reads."""
        result = await self.executor.call(
            self.name, _plain(arguments), role=self.role, idempotency_key=_key(self.role, call_id)
        )
        return result.to_text()

    def call(self, arguments: Mapping[str, Any] | str | None, *, call_id: str | None = None) -> str:
        """Blocking :meth:`acall` for worker threads (never from a running event loop)."""
        result = self.executor.call_sync(
            self.name, _plain(arguments), role=self.role, idempotency_key=_key(self.role, call_id)
        )
        return result.to_text()

    def __repr__(self) -> str:
        return f"BoundTool({self.name!r}, role={self.role!r})"


def _plain(arguments: Mapping[str, Any] | str | None) -> dict[str, Any] | str:
    if arguments is None:
        return {}
    if isinstance(arguments, str):
        return arguments  # the executor parses it and reports malformed JSON to the model
    return dict(arguments)


def _key(role: str, call_id: str | None) -> str | None:
    # The executor's ledger is per run; the prefix keeps model-given ids apart from the keys the
    # executor derives itself ("auto-...") and one role's "call_0" apart from another's.
    return f"call-{role}-{call_id}" if call_id else None


def no_final_answer(role: str, max_turns: int) -> str:
    """The answer of a role that used up its model turns without a final answer.

    Every adapter answers with it when its framework's turn limit is hit, so running out of turns
    is graded (a failed run) the same way in every framework, never an error.
    """
    return f"{role}: no final answer within {max_turns} model turns"


def bind_tools(executor: ToolExecutor) -> dict[Role, list[BoundTool]]:
    """Every role's tools from the catalogue, bound to ``executor``."""
    return {
        role: [BoundTool(spec, role, executor) for spec in tools_for_role(role)] for role in ROLES
    }


class Outcome(BaseModel):
    """What an adapter produced: the operator's final report and what it says.

    Attributes:
        final_report: the operator's final answer (the last role's text).
        root_cause: the root-cause label it names (the first, when it names several), or None.
        device: the device it names with that root cause, or None.
        escalated: whether it says the incident was escalated to a human.
        answers: each role's final answer, by role.
    """

    model_config = ConfigDict(frozen=True)

    final_report: str
    root_cause: str | None = None
    device: str | None = None
    escalated: bool = False
    answers: dict[str, str] = {}

    @classmethod
    def from_answers(cls, answers: Mapping[str, str]) -> Outcome:
        """Build from each role's final answer; the operator's is the report."""
        final = answers.get("operator") or next(reversed(list(answers.values())), "")
        parsed = parse_final_answer(final)
        return cls(
            final_report=final,
            root_cause=parsed.root_cause,
            device=parsed.device,
            escalated=bool(parsed.escalated),
            answers=dict(answers),
        )


class Handoffs:
    """Role-to-role handoffs as protocol messages on the run's bus.

    :meth:`hand_over` sends a ``handoff`` message (trace context in its headers) to the next
    role's inbox and takes it from there on that role's behalf, continuing the trace and acking.
    Every inbox is declared on the bus before anything is sent to it (:meth:`declare`, or the
    first hand-over to it): on redis+pubsub a message sent to an inbox nobody subscribed is lost.
    :meth:`release` deletes the run's inboxes when the run is over.
    Adapters whose framework does not route between roles itself (plain, LangChain) build the next
    role's task from the *received* message, so the bus really carries the work; frameworks that
    route internally (AutoGen, CrewAI) mirror each handoff with the same call.
    """

    def __init__(self, bus: MessageBus, run_id: str, telemetry: Telemetry) -> None:
        self.bus = bus
        self.run_id = run_id
        self.telemetry = telemetry
        self.messages: list[Message] = []
        """Every handoff received so far, in order."""
        self._declared: list[str] = []

    def inbox(self, role: str) -> str:
        """The run-scoped inbox of ``role``."""
        return f"{self.run_id}:{role}"

    async def declare(self, roles: Sequence[str]) -> None:
        """Declare the run-scoped inboxes of ``roles`` on the bus, before any handoff is sent."""
        for role in roles:
            inbox = self.inbox(role)
            if inbox not in self._declared:
                await self.bus.declare_inbox(inbox)
                self._declared.append(inbox)

    async def release(self) -> None:
        """Delete every inbox this run declared (and what is left in them) from the bus."""
        while self._declared:
            await self.bus.release_inbox(self._declared[-1])
            self._declared.pop()

    async def hand_over(
        self,
        sender: str,
        recipient: Role,
        text: str,
        *,
        causation: Message | None = None,
        type: str = "handoff",
    ) -> Message:
        """Send ``text`` from ``sender`` to ``recipient`` over the bus and receive it there.

        Raises:
            BusError: the message did not arrive within :data:`HANDOFF_TIMEOUT_S`.
        """
        message = Message(
            type=type,
            sender=self.inbox(sender),
            recipient=self.inbox(recipient),
            content={"role": sender, "to_role": recipient, "text": text},
            correlation_id=self.run_id,
            causation_id=causation.id if causation is not None else None,
        )
        await self.declare([recipient])
        await self.bus.send(message)
        delivery = await self.bus.receive(message.recipient, timeout=HANDOFF_TIMEOUT_S)
        if delivery is None:
            raise BusError(
                f"handoff {message.id} from {sender} to {recipient} did not arrive on the bus "
                f"within {HANDOFF_TIMEOUT_S:.0f} s; check the bus URL and that nothing else "
                f"consumes {message.recipient!r}"
            )
        with self.telemetry.consume(delivery.message):
            await self.bus.ack(delivery)
        self.messages.append(delivery.message)
        return delivery.message

    @staticmethod
    def text_of(message: Message) -> str:
        """The handed-over text of a handoff message."""
        text = message.content.get("text")
        return text if isinstance(text, str) else json.dumps(message.content)


@dataclass
class RunContext:
    """Everything an adapter is given for one run.

    Attributes:
        run_id: unique id of the run; also the key space in the store and the bus.
        tools: each role's tools, bound to the run's one executor.
        model: the resolved model endpoint (base URL, model id, key, timeout, retries).
        store: the shared state store (framework checkpoints go here).
        bus: the shared message bus.
        telemetry: the run's telemetry (spans, metrics, logger).
        handoffs: role-to-role handoffs on the bus.
        prompts: the system prompt of each role (:data:`agentrig.core.contract.roles.SYSTEM_PROMPTS`).
        max_turns_per_role: the most LLM calls one role may make before it must answer.
        mcp: with ``--tools mcp``, each role's MCP server: an adapter with ``supports_mcp = True``
            takes that role's tools from it through its framework's own MCP client (``tools``
            stay bound for the calls the framework answers itself, see ``docs/mcp.md``); None
            with native tools.
    """

    run_id: str
    tools: Mapping[Role, Sequence[BoundTool]]
    model: ModelEndpoint
    store: StateStore
    bus: MessageBus
    telemetry: Telemetry
    handoffs: Handoffs
    prompts: Mapping[Role, str] = field(default_factory=lambda: dict(SYSTEM_PROMPTS))
    max_turns_per_role: int = 30
    mcp: Mapping[Role, McpEndpoint] | None = None

    @staticmethod
    def alarm_text(task: Message) -> str:
        """The alarm text of a task message."""
        text = task.content.get("text")
        return text if isinstance(text, str) else json.dumps(task.content)

    @staticmethod
    def task_for(alarm_text: str, handoffs: Sequence[tuple[Role, str]]) -> str:
        """The task text of the next role: the alarm, then the earlier roles' answers."""
        return build_task(alarm_text, handoffs)


@runtime_checkable
class AgentAdapter(Protocol):
    """One framework running the maintenance workflow.

    Build model clients once per adapter instance (per process), not per run: some are costly
    (a ``crewai.LLM`` loads certificates for ~38 ms). Async clients belong to the event loop they
    ran on: keep them per loop and close them in ``aclose()``, which
    :class:`~agentrig.core.runner.RunServices` calls on that loop when its runs are done. Example --
    the shape of an adapter::

        class EchoAdapter:
            name = "echo"
            framework_version = "0.0"

            async def run(self, task: Message, ctx: RunContext) -> Outcome:
                alarm = ctx.alarm_text(task)
                answers: dict[str, str] = {}
                for role in ROLES:
                    with ctx.telemetry.agent(role):
                        answers[role] = await my_agent(ctx.prompts[role], alarm, ctx.tools[role])
                return Outcome.from_answers(answers)

            async def aclose(self) -> None:
                pass  # no clients kept
    """

    name: str
    """The adapter's registry name (``plain``, ``langchain``, ``autogen``, ``crewai``)."""

    @property
    def framework_version(self) -> str:
        """The installed version of the framework it drives."""
        ...

    async def run(self, task: Message, ctx: RunContext) -> Outcome:
        """Run monitor -> diagnostician -> operator on ``task`` and return the outcome."""
        ...

    async def aclose(self) -> None:
        """Close the clients the running event loop's runs used (called on that loop)."""
        ...


async def run_roles_over_bus(
    task: Message, ctx: RunContext, run_role: Callable[[Role, str], Awaitable[str]]
) -> Outcome:
    """Run monitor -> diagnostician -> operator, each role's task carried by the bus.

    For frameworks that do not route between roles themselves (plain, LangChain): each earlier
    role's answer is handed over as a protocol message, and the next role's task is built from
    what *arrived* (:meth:`Handoffs.hand_over`), so the bus really carries the work.
    ``run_role(role, task_text)`` runs one role inside its ``invoke_agent`` span and returns its
    final answer.
    """
    alarm = ctx.alarm_text(task)
    answers: dict[str, str] = {}
    received: list[tuple[Role, str]] = []
    previous = task
    for index, role in enumerate(ROLES):
        if index > 0:
            sender = ROLES[index - 1]
            previous = await ctx.handoffs.hand_over(
                sender, role, answers[sender], causation=previous
            )
            received.append((sender, ctx.handoffs.text_of(previous)))
        with ctx.telemetry.agent(role):
            answers[role] = await run_role(role, ctx.task_for(alarm, received))
    return Outcome.from_answers(answers)
