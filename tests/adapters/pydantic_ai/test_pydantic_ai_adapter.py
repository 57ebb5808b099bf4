"""The Pydantic AI adapter's own parts: message histories in the store and resume from them, the
executor fallback for unknown tools, its spans, and the internals it relies on.

The shared contract (every scenario, tool-call order, malformed calls, turn limits, failures,
clients per loop, the missing extra) is the adapter conformance suite's:
tests/adapters/test_conformance.py.

Runs go through real ``pydantic_ai.Agent`` objects against the in-process reference model, on
the plant's real executor, built the way the runner builds them (tests/adapters/harness.py).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import cast

import pytest
from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.tool_manager import ToolManager

from agentrig.adapters.pydantic_ai import PydanticAIAdapter, RoleHistory, history_key
from agentrig.adapters.pydantic_ai.tools import PlantToolset, ToolsWithFallback
from agentrig.core.contract.agent import BoundTool
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.plant.executor import ToolExecutor
from agentrig.core.plant.tools import ACTION_TOOLS, tools_for_role
from agentrig.core.state import MemoryStateStore, StateStore, open_state_store
from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.instrumentation import instrument_framework
from agentrig.core.telemetry.normalise import normalise
from agentrig.exceptions import AdapterError
from tests.adapters.harness import (
    RecordingBus,
    ScriptedModel,
    ledger_of,
    run_killed_after_first_action,
    run_once,
)

# The in-process reference model, on purpose: resumes need the live conversation (a cassette
# replays one fixed exchange, not what a resumed agent asks).
pytestmark = pytest.mark.allow_model_requests


@pytest.fixture
async def store(backend_url: str) -> AsyncIterator[StateStore]:
    # Every backend, through the suite-wide fixture (tests/conftest.py).
    async with open_state_store(backend_url) as opened:
        yield opened


def _tool_calls(messages: list[object]) -> list[ToolCallPart]:
    return [
        part
        for message in messages
        if isinstance(message, ModelResponse)
        for part in message.parts
        if isinstance(part, ToolCallPart)
    ]


def _tool_returns(messages: list[object]) -> list[ToolReturnPart]:
    return [
        part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


async def test_each_roles_history_round_trips_through_the_store(
    store: StateStore, model: ScriptedModel
) -> None:
    adapter = PydanticAIAdapter()
    outcome, world = await run_once(adapter, store, RecordingBus(), model.endpoint(), "history")
    await adapter.aclose()
    ledger = await world.ledger()
    keys = {entry.key for entry in ledger}
    alarm = world.ctx.alarm_text(world.alarm)
    for index, role in enumerate(ROLES):
        saved = await RoleHistory(store, "history", role, adapter.framework_version).load()
        assert saved is not None
        assert saved.answer == outcome.answers[role]
        messages = saved.model_messages()
        first = messages[0]
        assert isinstance(first, ModelRequest)
        prompt = next(p for p in first.parts if isinstance(p, UserPromptPart))
        # The task the role was given: the alarm, then what the earlier roles handed over.
        assert isinstance(prompt.content, str)
        assert prompt.content.startswith(alarm)
        assert all(outcome.answers[earlier] in prompt.content for earlier in ROLES[:index])
        # Every call the agent made reached the executor under the model's call id, and every
        # call has exactly one result in the history.
        calls = _tool_calls(messages)
        assert calls
        assert {f"call-{role}-{call.tool_call_id}" for call in calls} <= keys
        returns = _tool_returns(messages)
        assert sorted(r.tool_call_id for r in returns) == sorted(c.tool_call_id for c in calls)
        last = messages[-1]
        assert isinstance(last, ModelResponse)
        assert not last.tool_calls
        assert last.text == outcome.answers[role]


async def test_a_role_that_answered_is_not_asked_again(model: ScriptedModel) -> None:
    store = MemoryStateStore()
    adapter = PydanticAIAdapter()
    first, _ = await run_once(adapter, store, RecordingBus(), model.endpoint(), "again")
    calls = dict(model.calls)
    second, _ = await run_once(adapter, store, RecordingBus(), model.endpoint(), "again")
    await adapter.aclose()
    assert dict(model.calls) == calls  # no role asked the model again
    assert second.answers == first.answers


async def test_a_killed_tool_call_is_run_again_from_the_history_and_applies_once(
    model: ScriptedModel,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    await run_killed_after_first_action(PydanticAIAdapter(), store, bus, model.endpoint(), "killed")

    # What the kill left: the operator's history ends in the response whose calls have no result.
    saved = await RoleHistory(store, "killed", "operator", "").load()
    assert saved is not None
    assert saved.answer is None
    left = saved.model_messages()
    assert isinstance(left[-1], ModelResponse)
    pending = [call.tool_call_id for call in left[-1].tool_calls]
    assert pending
    before = await ledger_of(store, "killed")

    second = PydanticAIAdapter()
    outcome, resumed = await run_once(second, store, bus, model.endpoint(), "killed")
    await second.aclose()
    assert (await resumed.plant.grade(outcome.final_report)).passed
    # Pydantic AI ran the pending calls first, under their ids: one result each, no new entry.
    done = (await RoleHistory(store, "killed", "operator", "").load()).model_messages()  # type: ignore[union-attr]
    returned = [r.tool_call_id for r in _tool_returns(done)]
    assert all(returned.count(call_id) == 1 for call_id in pending)
    ledger = await ledger_of(store, "killed")
    assert ledger[: len(before)] == before
    actions = [(e.tool, json.dumps(e.arguments, sort_keys=True)) for e in ledger]
    actions = [action for action in actions if action[0] in ACTION_TOOLS]
    assert len(actions) == len(set(actions)), actions


async def test_a_history_it_cannot_read_is_refused_and_left_in_place(model: ScriptedModel) -> None:
    store = MemoryStateStore()
    key = history_key("unreadable", "monitor")
    await store.save(key, {"format": 1, "messages": "not a list"})
    adapter = PydanticAIAdapter()
    with pytest.raises(AdapterError, match="cannot be resumed") as refused:
        await run_once(adapter, store, RecordingBus(), model.endpoint(), "unreadable")
    await adapter.aclose()
    assert key in str(refused.value)
    assert "\n" not in str(refused.value)
    kept = await store.load(key)
    assert kept is not None
    assert kept.state == {"format": 1, "messages": "not a list"}
    assert model.calls["monitor"] == 0


async def test_a_tool_the_role_lacks_is_answered_by_the_executor(model: ScriptedModel) -> None:
    asked: list[str] = []

    def one_unknown_call(inp: PolicyInput, skill: Skill) -> Decision:
        asked.append(inp.role or "")
        if asked.count("monitor") == 1 and inp.role == "monitor":
            return [ToolRequest("restart_pump", {"pump_id": "pump-07"})]  # the operator's tool
        return FinalAnswer(f"{inp.role}: done.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12")

    model.decide = one_unknown_call
    adapter = PydanticAIAdapter()
    _, world = await run_once(
        adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "lacks"
    )
    await adapter.aclose()
    refused = [r for r in world.records if r.tool == "restart_pump"]
    assert len(refused) == 1
    assert not refused[0].result.ok
    assert next(e.tool for e in await world.ledger()) == "restart_pump"
    # The model read the executor's answer, not Pydantic AI's "Unknown tool name" retry prompt.
    second_request = model.recorder.requests()[1]
    tool_messages = [m for m in second_request["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == [refused[0].result.to_text()]


async def test_its_spans_are_openinference_stamped_and_count_each_call_once(
    model: ScriptedModel,
) -> None:
    instrument_framework("pydantic-ai")
    adapter = PydanticAIAdapter()
    _, world = await run_once(adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "otel")
    await adapter.aclose()
    assert world.captured is not None
    spans = world.captured.records("otel")
    framework = [s for s in spans if s.scope_name == "pydantic-ai"]
    kinds = {s.attributes.get(semconv.OPENINFERENCE_SPAN_KIND) for s in framework}
    assert kinds == {"AGENT", "LLM", "TOOL"}
    assert {s.attributes.get(semconv.GEN_AI_AGENT_NAME) for s in framework} >= set(ROLES)
    assert all(s.attributes.get(semconv.AGENTRIG_ROLE) in ROLES for s in framework)
    # openai-v2's chat spans are left as they are: they alone carry the counted usage.
    chats = [s for s in spans if s.scope_name not in ("pydantic-ai", semconv.TRACER_NAME)]
    assert chats
    assert all(semconv.OPENINFERENCE_SPAN_KIND not in s.attributes for s in chats)
    trace = normalise(spans, "otel")
    assert trace.llm_calls == len(model.recorder.exchanges)
    assert trace.tool_calls == len(world.records)
    assert {step.source for step in trace.steps()} == {"openai-v2", "agentrig"}
    # Pydantic AI never loaded logfire, and would not send to it if an application did.
    assert "logfire" not in sys.modules
    assert os.environ["LOGFIRE_SEND_TO_LOGFIRE"] == "false"


def test_the_tool_manager_resolves_calls_with_the_tools_get_the_fallback_answers() -> None:
    # The internals of patches.INTERNALS, read as they are used (the behaviour is pinned by
    # test_a_tool_the_role_lacks_is_answered_by_the_executor and the conformance suite).
    assert "self.tools.get(name)" in inspect.getsource(ToolManager._resolve_tool)
    assert "self.tools.get(name)" in inspect.getsource(ToolManager.get_tool_def)
    executor = cast("ToolExecutor", None)  # never called here
    plant = PlantToolset(
        [BoundTool(spec, "monitor", executor) for spec in tools_for_role("monitor")]
    )
    own = {spec.name for spec in tools_for_role("monitor")}
    tools = ToolsWithFallback({name: plant.tool(plant._definitions[name]) for name in own}, plant)
    assert {tool.tool_def.name for tool in tools.values()} == own  # what the model is offered
    unknown = tools.get("frobnicate")
    assert unknown is not None
    assert unknown.tool_def.name == "frobnicate"
    assert unknown.toolset is plant
    assert "frobnicate" not in tools


async def test_concurrent_runs_share_one_client_and_keep_their_steps_apart(
    model: ScriptedModel,
) -> None:
    instrument_framework("pydantic-ai")
    adapter = PydanticAIAdapter()
    store = MemoryStateStore()
    runs = await asyncio.gather(
        *(
            run_once(adapter, store, RecordingBus(), model.endpoint(), f"together-{n}")
            for n in range(3)
        )
    )
    assert len(adapter.clients.of_loop()) == 1
    await adapter.aclose()
    for n, (outcome, world) in enumerate(runs):
        assert (await world.plant.grade(outcome.final_report)).passed
        assert world.captured is not None
        trace = normalise(world.captured.records(f"together-{n}"), f"together-{n}")
        # Each run's trace holds its own calls only: its tool calls are its own ledger's.
        assert trace.tool_calls == len(await world.ledger()) == len(world.records)
        assert [segment.role for segment in trace.roles] == list(ROLES)
