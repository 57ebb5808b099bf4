"""The Agent Framework adapter's own parts: session checkpoints and resume, the calls Agent
Framework would answer itself, its turn-limit text, its spans counted once, its opt-outs.

The shared contract (tool-call order, malformed calls, turn limits, failures, clients per loop,
the missing extra) is the adapter conformance suite's: tests/adapters/test_conformance.py.

Runs go through real Agent Framework agents against the in-process reference model, on the
plant's real executor and the in-memory store and bus, built the way the runner builds them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agent_framework import (
    AgentSession,
    Content,
    InMemoryHistoryProvider,
    prepend_agent_framework_to_user_agent,
)

from agentrig.adapters.agent_framework import AgentFrameworkAdapter
from agentrig.adapters.agent_framework.state import RunCheckpoint, checkpoint_key
from agentrig.adapters.agent_framework.tools import plant_tools, runnable_by_framework
from agentrig.core.contract.agent import Handoffs, RunContext, bind_tools, no_final_answer
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.normalise import normalise
from agentrig.exceptions import AdapterError
from tests.adapters.harness import ASGIApp, RecordingBus, ScriptedModel, adapter_world, run_once

pytestmark = pytest.mark.allow_model_requests


async def test_a_run_checkpoints_each_roles_session_and_the_handoffs(
    model: ScriptedModel,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    adapter = AgentFrameworkAdapter()
    outcome, world = await run_once(adapter, store, bus, model.endpoint(), "af-state")
    await adapter.aclose()

    loaded = await store.load(checkpoint_key("af-state"))
    assert loaded is not None
    assert loaded.version == 5  # 3 role runs + 2 handoffs, each saved with compare-and-set
    assert json.loads(json.dumps(loaded.state)) == loaded.state  # plain JSON, nothing pickled
    checkpoint = RunCheckpoint.model_validate(loaded.state)
    assert list(checkpoint.answers) == list(ROLES)
    assert checkpoint.answers == outcome.answers

    # Each role's session comes back with its conversation: the task, its tool calls answered
    # under the ids the executor's ledger keys them by, and its answer last.
    ledger = await world.ledger()
    alarm = RunContext.alarm_text(world.alarm)
    for index, role in enumerate(ROLES):
        session = AgentSession.from_dict(checkpoint.sessions[role])
        assert session.session_id == f"af-state:{role}"
        assert session.to_dict() == checkpoint.sessions[role]
        messages = session.state[InMemoryHistoryProvider.DEFAULT_SOURCE_ID]["messages"]
        task = RunContext.task_for(alarm, [(r, checkpoint.answers[r]) for r in ROLES[:index]])
        assert (messages[0].role, messages[0].text) == ("user", task)
        result_ids = [
            content.call_id
            for message in messages
            for content in message.contents
            if content.type == "function_result"
        ]
        keys = [entry.key for entry in ledger if entry.role == role]
        assert [f"call-{role}-{call_id}" for call_id in result_ids] == keys
        assert messages[-1].text == checkpoint.answers[role]

    # The handoffs went over the bus, in order, chained by causation, and are checkpointed.
    alarm, *handoffs = bus.delivered
    assert [Handoffs.text_of(m) for m in handoffs] == [
        checkpoint.answers["monitor"],
        checkpoint.answers["diagnostician"],
    ]
    assert handoffs[0].causation_id == alarm.id
    assert handoffs[1].causation_id == handoffs[0].id
    assert [m.id for m in checkpoint.handoffs] == [m.id for m in handoffs]


async def test_a_resumed_run_starts_at_the_first_unfinished_role(model: ScriptedModel) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    adapter = AgentFrameworkAdapter()
    first, _ = await run_once(adapter, store, bus, model.endpoint(), "af-resume")
    calls_after_first = dict(model.calls)
    assert set(calls_after_first) == set(ROLES)

    # As if the process died after the diagnostician's handoff, before the operator answered.
    loaded = await store.load(checkpoint_key("af-resume"))
    assert loaded is not None
    cut = RunCheckpoint.model_validate(loaded.state)
    cut = cut.model_copy(
        update={
            "answers": {role: cut.answers[role] for role in ROLES[:2]},
            "sessions": {role: cut.sessions[role] for role in ROLES[:2]},
        }
    )
    await store.save(checkpoint_key("af-resume"), cut.model_dump(mode="json"))
    delivered = len(bus.delivered)

    second = AgentFrameworkAdapter()  # a new process
    outcome, world = await run_once(second, store, bus, model.endpoint(), "af-resume")
    await second.aclose()
    await adapter.aclose()
    # Only the operator asked the model again; no handoff was sent twice.
    assert model.calls["monitor"] == calls_after_first["monitor"]
    assert model.calls["diagnostician"] == calls_after_first["diagnostician"]
    assert model.calls["operator"] > calls_after_first["operator"]
    assert [m.type for m in bus.delivered[delivered:]] == ["alarm"]  # the new world's alarm
    assert outcome.answers["monitor"] == first.answers["monitor"]
    grade = await world.plant.grade(outcome.final_report)
    assert grade.passed, [c.detail for c in grade.checks if not c.passed]
    actions = [
        (entry.tool, json.dumps(entry.arguments, sort_keys=True))
        for entry in await world.ledger()
        if entry.tool in ACTION_TOOLS
    ]
    assert len(actions) == len(set(actions)), actions  # no action applied twice


async def test_a_checkpoint_it_cannot_resume_is_refused_and_left_in_place(
    model: ScriptedModel,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    await store.save(checkpoint_key("af-bad"), {"format": 1, "sessions": "not a mapping"})
    adapter = AgentFrameworkAdapter()
    async with adapter_world(adapter.name, store, bus, model.endpoint(), "af-bad") as world:
        with pytest.raises(AdapterError, match=r"runs/af-bad/agent-framework/sessions") as refused:
            await adapter.run(world.alarm, world.ctx)
    await adapter.aclose()
    assert "delete the key to start the run over" in str(refused.value)
    assert "\n" not in str(refused.value)
    left = await store.load(checkpoint_key("af-bad"))
    assert left is not None
    assert left.state["sessions"] == "not a mapping"
    assert sum(model.calls.values()) == 0


async def test_a_role_out_of_turns_answers_no_final_answer(model: ScriptedModel) -> None:
    # Asked for an answer on Agent Framework's last, tool-less call, the model says nothing:
    # Agent Framework answers with its own fallback text, which the adapter replaces.
    def tools_then_nothing(inp: PolicyInput, skill: Skill) -> Decision:
        if not inp.tools:  # tool_choice "none"
            return FinalAnswer("")
        device = f"pump-0{len(inp.observations) % 9 + 1}"
        return [ToolRequest("check_device_status", {"device_id": device})]

    model.decide = tools_then_nothing
    adapter = AgentFrameworkAdapter()
    outcome, _ = await run_once(
        adapter,
        MemoryStateStore(),
        RecordingBus(),
        model.endpoint(),
        "af-turns",
        max_turns_per_role=3,
    )
    await adapter.aclose()
    assert dict(model.calls) == dict.fromkeys(ROLES, 3)
    assert outcome.answers == {role: no_final_answer(role, 3) for role in ROLES}
    last = model.recorder.requests()[-1]
    assert last["tool_choice"] == "none"


async def test_the_frameworks_own_spans_are_marked_and_each_call_counted_once(
    model: ScriptedModel,
) -> None:
    adapter = AgentFrameworkAdapter()
    _, world = await run_once(
        adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "af-spans"
    )
    await adapter.aclose()
    assert world.captured is not None
    spans = world.captured.spans("af-spans")
    framework_spans = [s for s in spans if s.instrumentation_scope.name == "agent_framework"]
    kinds = {s.name.split(" ")[0]: s.attributes["openinference.span.kind"] for s in framework_spans}
    assert kinds == {"invoke_agent": "AGENT", "chat": "LLM", "execute_tool": "TOOL"}
    # openai-v2's chat spans are left as they are: they are the ones counted.
    others = [s for s in spans if s.name.startswith("chat ") and s not in framework_spans]
    assert others
    assert all("openinference.span.kind" not in s.attributes for s in others)

    trace = normalise(world.captured.records("af-spans"), "af-spans")
    assert trace.llm_calls == sum(model.calls.values())
    assert trace.tool_calls == len(await world.ledger())
    assert [segment.role for segment in trace.roles] == list(ROLES)


async def test_requests_tell_the_provider_nothing_about_agent_framework() -> None:
    # The opt-outs were read when agent_framework was imported (optouts.py).
    assert prepend_agent_framework_to_user_agent({"User-Agent": "x"}) == {"User-Agent": "x"}
    headers: list[dict[str, str]] = []
    model = ScriptedModel()
    inner: ASGIApp = model.server.app.asgi

    async def keep_headers(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await inner(scope, receive, send)

    model.server.app.asgi = keep_headers
    adapter = AgentFrameworkAdapter()
    with model.server:
        await run_once(adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "af-ua")
    await adapter.aclose()
    assert headers
    sent = json.dumps(headers).lower()
    assert "agent-framework" not in sent
    assert "feat=" not in sent


@pytest.mark.parametrize(
    ("name", "arguments", "runnable"),
    [
        ("check_device_status", '{"device_id": "pump-07"}', True),
        ("check_device_status", '{"device_id": 7}', False),  # the tool's model rejects it
        ("check_device_status", '{"device_id": "pump-07", "extra": 1}', False),
        ("check_device_status", '{"device_id": "pump-07"', False),  # not JSON
        ("check_device_status", '["pump-07"]', False),  # JSON, not an object
        ("restart_device", '{"device_id": "pump-07"}', False),  # the monitor lacks it
        ("no_such_tool", "{}", False),
    ],
)
async def test_which_calls_agent_framework_would_run_itself(
    name: str, arguments: str, runnable: bool
) -> None:
    store = MemoryStateStore()
    plant = await Plant.create(store, "af-runnable", "blocked-discharge")
    executor = plant.executor()
    try:
        tools = {tool.name: tool for tool in plant_tools(bind_tools(executor)["monitor"])}
        call = Content.from_function_call(call_id="call_1", name=name, arguments=arguments)
        assert runnable_by_framework(call, tools) is runnable
    finally:
        executor.close()


async def test_concurrent_runs_share_one_client_and_keep_their_steps_apart(
    model: ScriptedModel,
) -> None:
    adapter = AgentFrameworkAdapter()
    runs = await asyncio.gather(
        *(
            run_once(adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), f"af-c{n}")
            for n in range(3)
        )
    )
    assert adapter.clients.count(asyncio.get_running_loop()) == 1
    await adapter.aclose()
    for number, (outcome, world) in enumerate(runs):
        grade = await world.plant.grade(outcome.final_report)
        assert grade.passed, [c.detail for c in grade.checks if not c.passed]
        assert world.captured is not None
        trace = normalise(world.captured.records(f"af-c{number}"), f"af-c{number}")
        ledger = await world.ledger()
        assert trace.tool_calls == len(ledger)
        assert [s.tool for s in trace.steps() if s.kind == "tool"] == [e.tool for e in ledger]
        assert [segment.role for segment in trace.roles] == list(ROLES)
