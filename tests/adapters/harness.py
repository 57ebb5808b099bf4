"""What every adapter test uses: the recording bus, a scripted model server, one run built by hand.

The ``model`` fixture (a :class:`ScriptedModel`, started and stopped per test) is registered in
``tests/adapters/conftest.py``, as are ``brain`` and ``endpoint``: one :class:`ScriptedModel` per
test module, for the LangChain and LangGraph tests, whose runs share a server.

:func:`adapter_world` builds one run's world the way the runner does -- plant, executor (with the
test's hooks), telemetry, handoffs, the alarm on the bus -- for any registered adapter, so the
conformance suite drives all of them through the same code, and a framework's own tests reuse it.
:func:`start_run` builds a lighter one that outlives any block, for tests that crash a run and
resume it over the same store (:func:`crash_in_the_operator_then_resume` does both);
:func:`run_killed_after_first_action` kills a run in its first action, as a process killed there
would stop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentrig.core.contract.agent import BoundTool, Handoffs, Outcome, RunContext, bind_tools
from agentrig.core.llm import ReferenceModelServer
from agentrig.core.llm.brain import (
    Decision,
    FinalAnswer,
    PolicyInput,
    Skill,
    ToolRequest,
    default_decide,
)
from agentrig.core.llm.endpoints import ModelEndpoint
from agentrig.core.messaging import Delivery, Message
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.grader import Grade
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.state import MemoryStateStore, StateStore, open_state_store
from agentrig.core.telemetry import Telemetry, capture_telemetry
from agentrig.core.telemetry.testing import CapturedTelemetry
from agentrig.exceptions import BusError

SCENARIO = "blocked-discharge"

FOUR_CALLS = (
    ToolRequest("check_device_status", {"device_id": "pump-07"}),
    ToolRequest("read_telemetry", {"device_id": "valve-12"}),
    ToolRequest("check_device_status", {"device_id": "tank-01"}),
    ToolRequest("read_telemetry", {"device_id": "valve-03"}),
)
"""A reply of four calls the plant must see one by one, in this order (its clock makes order matter)."""


def four_calls_at_once(inp: PolicyInput, skill: Skill) -> Decision:
    """The monitor's first reply asks for :data:`FOUR_CALLS` together; every later turn answers."""
    if inp.role == "monitor" and not inp.observations:
        return list(FOUR_CALLS)
    return FinalAnswer(f"{inp.role}: done.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12")


MODEL_ID = "agentrig-operator"
Hook = Callable[[ToolCallRecord], Awaitable[None] | None]
ASGIApp = Callable[..., Awaitable[None]]


class RecordingBus(MemoryMessageBus):
    """The in-memory bus keeping every message delivered; ``refuse`` makes sends to it fail."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[Message] = []
        self.refuse: str | None = None

    async def send(self, message: Message) -> str:
        if self.refuse is not None and message.recipient.endswith(f":{self.refuse}"):
            raise BusError(f"test: the bus refuses messages to {message.recipient}")
        return await super().send(message)

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        delivery = await super().receive(agent_id, timeout)
        if delivery is not None:
            self.delivered.append(delivery.message)
        return delivery


class RecordingApp:
    """ASGI middleware keeping every chat completion request and reply body, in order."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.started_at: list[float] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        self.started_at.append(time.monotonic())
        request, reply = bytearray(), bytearray()

        async def keep_request() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                request.extend(message.get("body", b""))
            return message

        async def keep_reply(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                reply.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, keep_request, keep_reply)
        self.exchanges.append((json.loads(request), json.loads(reply) if reply else {}))

    def requests(self) -> list[dict[str, Any]]:
        return [request for request, _ in self.exchanges]

    def tool_call_ids(self) -> list[str]:
        return [call["id"] for call in self.tool_calls()]

    def tool_calls(self) -> list[dict[str, Any]]:
        """Every tool call the model made, in order (``function.arguments`` as sent)."""
        return [
            call
            for _, reply in self.exchanges
            for choice in reply.get("choices", [])
            for call in choice["message"].get("tool_calls") or []
        ]


class ScriptedModel:
    """The reference model server with a replaceable brain, counting each role's model calls."""

    def __init__(self, faults: str | None = None) -> None:
        self.decide: Callable[[PolicyInput, Skill], Decision] = default_decide()
        self.calls: Counter[str] = Counter()
        self.server = ReferenceModelServer(decide=self._decide, faults=faults)
        self.recorder = RecordingApp(self.server.app.asgi)
        self.server.app.asgi = self.recorder

    def _decide(self, inp: PolicyInput, skill: Skill) -> Decision:
        self.calls[inp.role or "unknown"] += 1
        return self.decide(inp, skill)

    @staticmethod
    def unreachable_endpoint() -> ModelEndpoint:
        """An endpoint nothing listens on (port 9, discard), with no retry."""
        return ModelEndpoint(
            provider="reference",
            model=MODEL_ID,
            base_url="http://127.0.0.1:9/v1",
            timeout=2,
            max_retries=0,
        )

    def endpoint(self, **update: Any) -> ModelEndpoint:
        return ModelEndpoint(
            provider="reference",
            model=MODEL_ID,
            base_url=self.server.base_url,
            timeout=10,
            max_retries=0,
        ).model_copy(update=update)


@dataclass
class World:
    """One run's world, built as the runner builds it."""

    alarm: Message
    ctx: RunContext
    plant: Plant
    records: list[ToolCallRecord] = field(default_factory=list)
    captured: CapturedTelemetry | None = None
    """The run's spans and metrics (readable after the world's block too)."""

    async def ledger(self) -> list[LedgerEntry]:
        return await ledger_of(self.ctx.store, self.ctx.run_id)


async def ledger_of(store: StateStore, run_id: str) -> list[LedgerEntry]:
    return await read_ledger(store, run_id)


@asynccontextmanager
async def adapter_world(
    framework: str,
    store: StateStore,
    bus: MemoryMessageBus,
    endpoint: ModelEndpoint,
    run_id: str,
    *,
    hooks: Sequence[Hook] = (),
    max_turns_per_role: int = 30,
    scenario: str = SCENARIO,
) -> AsyncIterator[World]:
    """Plant, executor, telemetry and the alarm handed to the monitor; a resumed run reuses them."""
    with capture_telemetry() as captured:
        telemetry = Telemetry.for_run(run_id, framework, scenario, metrics=captured.metrics)
        with telemetry, telemetry.workflow("maintenance"):
            plant = await Plant.create(store, run_id, scenario)
            records: list[ToolCallRecord] = []
            executor = plant.executor(hooks=[telemetry.tool_hook, records.append, *hooks])
            handoffs = Handoffs(bus, run_id, telemetry)
            ctx = RunContext(
                run_id=run_id,
                tools=bind_tools(executor),
                model=endpoint,
                store=store,
                bus=bus,
                telemetry=telemetry,
                handoffs=handoffs,
                max_turns_per_role=max_turns_per_role,
            )
            alarm = await handoffs.hand_over(
                "plant", "monitor", await plant.alarm_text(), type="alarm"
            )
            try:
                yield World(alarm, ctx, plant, records, captured)
            finally:
                executor.close()


async def run_once(
    adapter: Any,
    store: StateStore,
    bus: MemoryMessageBus,
    endpoint: ModelEndpoint,
    run_id: str,
    **options: Any,
) -> tuple[Outcome, World]:
    """Run ``adapter`` once in a fresh world over ``store``; return its outcome and world."""
    async with adapter_world(adapter.name, store, bus, endpoint, run_id, **options) as world:
        outcome: Outcome = await adapter.run(world.alarm, world.ctx)
    return outcome, world


async def run_killed_after_first_action(
    adapter: Any,
    store: StateStore,
    bus: MemoryMessageBus,
    endpoint: ModelEndpoint,
    run_id: str,
) -> None:
    """Run ``adapter`` until its first action is applied, cancel it there, then close it.

    The action is already in the store when the run stops, but the framework never sees its
    result: what a process killed right after the plant applied an action leaves behind. A test
    then resumes ``run_id`` over the same ``store`` with a new adapter.
    """
    acted = asyncio.Event()
    release = asyncio.Event()

    async def die_after_the_first_action(record: ToolCallRecord) -> None:
        if record.tool in ACTION_TOOLS and not acted.is_set():
            acted.set()
            await release.wait()

    async with adapter_world(
        adapter.name, store, bus, endpoint, run_id, hooks=[die_after_the_first_action]
    ) as world:
        run = asyncio.create_task(adapter.run(world.alarm, world.ctx))
        await asyncio.wait_for(acted.wait(), 60)
        run.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await run
        await adapter.aclose()


@dataclass
class DirectRun:
    """One run driven by hand, outside any block: its context, alarm, plant and bus."""

    ctx: RunContext
    alarm: Message
    plant: Plant
    bus: RecordingBus

    async def ledger(self) -> list[LedgerEntry]:
        return await ledger_of(self.ctx.store, self.ctx.run_id)


async def start_run(
    framework: str, store: StateStore, endpoint: ModelEndpoint, run_id: str
) -> DirectRun:
    """Create (or resume) the run's plant and hand the alarm to the monitor over a new bus.

    Unlike :func:`adapter_world` nothing is captured or closed at the end of a block, so a test
    can start the same run id again over the same store -- a new process after a crash -- and
    still read an earlier run's ledger.
    """
    telemetry = Telemetry.for_run(run_id, framework, SCENARIO)
    plant = await Plant.create(store, run_id, SCENARIO)
    bus = RecordingBus()
    handoffs = Handoffs(bus, run_id, telemetry)
    ctx = RunContext(
        run_id=run_id,
        tools=bind_tools(plant.executor(hooks=[telemetry.tool_hook])),
        model=endpoint,
        store=store,
        bus=bus,
        telemetry=telemetry,
        handoffs=handoffs,
    )
    alarm = await handoffs.hand_over("plant", "monitor", await plant.alarm_text(), type="alarm")
    return DirectRun(ctx, alarm, plant, bus)


@dataclass
class CrashedAndResumed:
    """A run crashed in the operator's work order and resumed, beside the same run uninterrupted."""

    uninterrupted: DirectRun
    full_calls: Counter[str]
    """The model calls of each role in the uninterrupted run."""
    crashed_ledger: list[LedgerEntry]
    calls_before_crash: Counter[str]
    resumed: DirectRun
    outcome: Outcome
    ledger: list[LedgerEntry]
    """The resumed run's whole ledger, the crashed attempt's entries first."""
    grade: Grade


async def crash_in_the_operator_then_resume(
    new_adapter: Callable[[], Any],
    model: ScriptedModel,
    endpoint: ModelEndpoint,
    url: str,
    run_id: str,
) -> CrashedAndResumed:
    """Run once uninterrupted; then crash ``run_id`` at the operator's ``create_work_order`` and
    resume it as a new process would: a new store object over ``url``, a new adapter, a new bus.

    ``model.calls`` holds the resumed run's model calls afterwards. The adapters it is for keep
    their progress in LangGraph checkpoints; each test asserts what resuming from them means.
    """
    reference = new_adapter()
    uninterrupted = await start_run(
        reference.name, MemoryStateStore(), endpoint, f"{run_id}-uninterrupted"
    )
    await reference.run(uninterrupted.alarm, uninterrupted.ctx)
    await reference.aclose()
    full_calls = Counter(model.calls)
    model.calls.clear()

    real_acall = BoundTool.acall

    async def crash_in_the_operator(self: BoundTool, *args: Any, **kwargs: Any) -> str:
        if self.role == "operator" and self.name == "create_work_order":
            raise RuntimeError("simulated crash")
        return await real_acall(self, *args, **kwargs)

    first = new_adapter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BoundTool, "acall", crash_in_the_operator)
        async with open_state_store(url) as store:
            run = await start_run(first.name, store, endpoint, run_id)
            with pytest.raises(RuntimeError, match="simulated crash"):
                await first.run(run.alarm, run.ctx)
            await first.aclose()
            crashed_ledger = await run.ledger()
    calls_before_crash = Counter(model.calls)

    model.calls.clear()
    second = new_adapter()
    async with open_state_store(url) as store:
        resumed = await start_run(second.name, store, endpoint, run_id)
        outcome = await second.run(resumed.alarm, resumed.ctx)
        await second.aclose()
        ledger = await resumed.ledger()
        grade = await resumed.plant.grade(outcome.final_report)
    return CrashedAndResumed(
        uninterrupted,
        full_calls,
        crashed_ledger,
        calls_before_crash,
        resumed,
        outcome,
        ledger,
        grade,
    )


def model_call_ids(messages: Sequence[Any]) -> list[str]:
    """Every tool-call id the model issued in a LangChain message history, valid or malformed."""
    # Imported here: harness serves every adapter's tests, and LangChain is one extra among them.
    from langchain_core.messages import AIMessage

    ids: list[str] = []
    for message in messages:
        if isinstance(message, AIMessage):
            ids += [call["id"] for call in message.tool_calls if call["id"]]
            ids += [call["id"] for call in message.invalid_tool_calls if call["id"]]
    return ids
