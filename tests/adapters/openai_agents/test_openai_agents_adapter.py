"""The OpenAI Agents adapter's own parts: its sessions in the StateStore, role-level and in-role
resume, and the SDK changes of its patches module (stray calls, token details, trace export).

The shared contract (every scenario, tool-call order, malformed calls, turn limits, failures,
clients per loop, the missing extra) is the adapter conformance suite's:
tests/adapters/test_conformance.py. Runs here go through the real SDK ``Runner`` against the
in-process reference model, on the plant's real executor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agents import (
    Agent,
    FunctionTool,
    ModelBehaviorError,
    OpenAIChatCompletionsModel,
    Runner,
    set_trace_processors,
    usage,
)
from agents.tracing import get_trace_provider
from agents.tracing.processors import default_processor
from openai import AsyncOpenAI
from openai.types.responses.response_usage import (
    InputTokensDetails as OpenAIInputTokensDetails,
)
from openinference.instrumentation.openai_agents._processor import OpenInferenceTracingProcessor
from pydantic import ValidationError

from agentrig.adapters.openai_agents import OpenAIAgentsAdapter, patches
from agentrig.adapters.openai_agents.session import (
    ProgressStore,
    RunProgress,
    StoreSession,
    progress_key,
    session_key,
)
from agentrig.adapters.openai_agents.tools import RunGuard
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.brain import ToolRequest
from agentrig.core.state import MemoryStateStore, StateStore, open_state_store
from agentrig.core.telemetry.instrumentation import instrument_framework
from agentrig.exceptions import AdapterError, VersionConflict
from tests.adapters.harness import (
    RecordingBus,
    ScriptedModel,
    adapter_world,
    run_killed_after_first_action,
    run_once,
)

pytestmark = pytest.mark.allow_model_requests


def _user_texts(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


# ------------------------------------------------------------------ sessions in the store


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_session_round_trips_through_the_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'state.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("redis_url"))
    )
    store: StateStore = open_state_store(url)
    try:
        session = StoreSession(store, "run-1", "monitor")
        task = {"role": "user", "content": "ALARM: pump-07 discharge pressure high"}
        call = {
            "type": "function_call",
            "call_id": "call_1",
            "name": "read_telemetry",
            "arguments": '{"device_id": "pump-07"}',
        }
        output = {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'}
        await session.add_items([task])  # type: ignore[list-item]
        await session.add_items([call, output])  # type: ignore[list-item]

        reopened = StoreSession(store, "run-1", "monitor")  # a new process
        assert await reopened.get_items() == [task, call, output]
        assert await reopened.get_items(limit=2) == [call, output]
        assert await reopened.get_items(limit=0) == []
        loaded = await store.load(session_key("run-1", "monitor"))
        assert loaded is not None
        assert loaded.state["session_id"] == "run-1:monitor"
        assert await reopened.pop_item() == output
        assert await StoreSession(store, "run-1", "monitor").get_items() == [task, call]
        await reopened.clear_session()
        assert await store.load(session_key("run-1", "monitor")) is None
        assert await reopened.pop_item() is None
    finally:
        await store.close()


async def test_two_writers_of_one_session_cannot_interleave() -> None:
    store = MemoryStateStore()
    first, second = StoreSession(store, "run", "operator"), StoreSession(store, "run", "operator")
    await first.add_items([{"role": "user", "content": "task"}])  # type: ignore[list-item]
    assert len(await second.get_items()) == 1
    await first.add_items([{"role": "assistant", "content": "a"}])  # type: ignore[list-item]
    # add_items reads before it writes, so the second writer appends to what is there...
    await second.add_items([{"role": "assistant", "content": "b"}])  # type: ignore[list-item]
    assert [item["content"] for item in await first.get_items()] == ["task", "a", "b"]  # type: ignore[typeddict-item]
    # ...but a write racing between its read and its save is refused, not lost.
    await second._load()
    await first.add_items([{"role": "assistant", "content": "c"}])  # type: ignore[list-item]
    with pytest.raises(VersionConflict):
        await second._save([])


async def test_a_corrupt_session_or_progress_is_refused_and_left_in_place() -> None:
    store = MemoryStateStore()
    await store.save(session_key("run", "monitor"), {"format": 1, "items": "not a list"})
    await store.save(progress_key("run"), {"format": 2, "framework_version": "0.13.6"})
    with pytest.raises(AdapterError, match=r"cannot be resumed: .* delete the key"):
        await StoreSession(store, "run", "monitor").get_items()
    with pytest.raises(AdapterError, match=r"run progress .* cannot be resumed"):
        await ProgressStore(store, "run").load()
    assert await store.load(session_key("run", "monitor")) is not None


async def test_a_run_leaves_each_roles_sdk_session_and_its_progress_in_the_store(
    model: ScriptedModel,
) -> None:
    store = MemoryStateStore()
    adapter = OpenAIAgentsAdapter()
    outcome, world = await run_once(adapter, store, RecordingBus(), model.endpoint(), "kept")
    await adapter.aclose()
    progress = await ProgressStore(store, "kept").load()
    assert progress is not None
    assert progress.answers == outcome.answers
    assert list(progress.answers) == list(ROLES)
    assert [m.content["to_role"] for m in progress.handoffs] == ["diagnostician", "operator"]
    ledger_ids = {r.idempotency_key for r in world.records}
    for role in ROLES:
        items: list[dict[str, Any]] = await StoreSession(store, "kept", role).get_items()  # type: ignore[assignment]
        assert items[0]["role"] == "user"  # the role's task, as the bus delivered it
        calls = [item for item in items if item.get("type") == "function_call"]
        outputs = [item for item in items if item.get("type") == "function_call_output"]
        assert [c["call_id"] for c in calls] == [o["call_id"] for o in outputs]  # none dangling
        assert {f"call-{role}-{c['call_id']}" for c in calls} <= ledger_ids
        assert items[-1]["content"][0]["text"] == outcome.answers[role]  # the final answer
    # The SDK reads the history back as its own: a new Runner.run on a session continues it.
    operator_items = await StoreSession(store, "kept", "operator").get_items()
    assert any(item.get("type") == "function_call" for item in operator_items)  # type: ignore[union-attr]


# ------------------------------------------------------------------ resume


async def test_finished_roles_are_not_run_again_on_resume(model: ScriptedModel) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    answer = "monitor: pressure high.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12"
    await ProgressStore(store, "roles").save(
        RunProgress(framework_version="0.13.6", answers={"monitor": answer})
    )
    adapter = OpenAIAgentsAdapter()
    outcome, _ = await run_once(adapter, store, bus, model.endpoint(), "roles")
    await adapter.aclose()
    assert model.calls["monitor"] == 0
    assert outcome.answers["monitor"] == answer
    handoff = next(m for m in bus.delivered if m.type == "handoff")
    assert handoff.content["text"] == answer  # the stored answer went over the bus
    diagnostician_task = _user_texts(model.recorder.requests()[0])[0]
    assert answer.strip() in diagnostician_task


async def test_a_role_that_answered_before_the_run_died_is_not_asked_again(
    model: ScriptedModel,
) -> None:
    store = MemoryStateStore()
    answer = "operator: pump-07 stopped.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12"
    done = {"monitor": "monitor: done.", "diagnostician": "diagnostician: done."}
    await ProgressStore(store, "answered").save(
        RunProgress(framework_version="0.13.6", answers=done)
    )
    await StoreSession(store, "answered", "operator").add_items(
        [
            {"role": "user", "content": "the task"},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            },
        ]  # type: ignore[list-item]
    )
    adapter = OpenAIAgentsAdapter()
    outcome, world = await run_once(adapter, store, RecordingBus(), model.endpoint(), "answered")
    await adapter.aclose()
    assert sum(model.calls.values()) == 0
    assert world.records == []
    assert outcome.answers["operator"] == answer
    assert outcome.root_cause == "blocked_discharge"


async def test_a_role_killed_mid_way_goes_on_from_its_session(model: ScriptedModel) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    await run_killed_after_first_action(OpenAIAgentsAdapter(), store, bus, model.endpoint(), "mid")
    saved: list[dict[str, Any]] = await StoreSession(store, "mid", "operator").get_items()  # type: ignore[assignment]
    assert saved
    assert saved[0]["role"] == "user"
    requests_before = len(model.recorder.requests())

    second = OpenAIAgentsAdapter()
    outcome, _ = await run_once(second, store, bus, model.endpoint(), "mid")
    await second.aclose()
    resumed = model.recorder.requests()[requests_before]
    assert model.calls["operator"] >= 2
    # The resumed operator's first request is its stored conversation: the task once, not twice.
    assert _user_texts(resumed) == [saved[0]["content"]]
    assert len(resumed["messages"]) == 1 + len(_chat_messages(saved))  # + the system prompt
    assert outcome.root_cause == "blocked_discharge"


def _chat_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A function call and the assistant text of one turn become one chat message.
    messages: list[dict[str, Any]] = []
    for item in items:
        if item.get("type") == "function_call" and messages and messages[-1].get("_calls"):
            continue
        messages.append({"_calls": item.get("type") == "function_call"})
    return messages


# ------------------------------------------------------------------ patches


def test_the_sdks_usage_builds_with_the_installed_openai() -> None:
    OpenAIAgentsAdapter()  # applies the patches
    if patches.cache_write_tokens_required():
        # The finding: what agents.usage builds is refused by the installed openai...
        with pytest.raises(ValidationError, match="cache_write_tokens"):
            OpenAIInputTokensDetails(cached_tokens=0)
        # ...so agents.usage gets a subclass defaulting it, and openai's class is left alone.
        assert usage.InputTokensDetails is not OpenAIInputTokensDetails
        assert issubclass(usage.InputTokensDetails, OpenAIInputTokensDetails)
    details = usage.Usage().input_tokens_details
    assert (details.cached_tokens, details.cache_write_tokens) == (0, 0)


def test_only_the_export_to_openai_is_dropped_from_the_sdks_trace_processors() -> None:
    instrument_framework("openai-agents")
    OpenAIAgentsAdapter()
    provider = get_trace_provider()
    before = list(provider._multi_processor._processors)  # type: ignore[attr-defined]
    kept = OpenInferenceTracingProcessor.__new__(OpenInferenceTracingProcessor)
    try:
        set_trace_processors([default_processor(), kept])
        assert patches.drop_openai_trace_export() is True
        assert list(provider._multi_processor._processors) == [kept]  # type: ignore[attr-defined]
        assert patches.drop_openai_trace_export() is False  # nothing left to drop
    finally:
        set_trace_processors(before)
    assert all(p is not default_processor() for p in before)
    assert any(isinstance(p, OpenInferenceTracingProcessor) for p in before)


async def test_a_stray_call_on_a_plain_sdk_agent_still_fails_as_the_sdk_decides(
    tmp_path: Path,
) -> None:
    # The wrapper answers stray calls for agentrig's PlantAgent only; other agents keep the
    # SDK's behaviour (ModelBehaviorError), so an application's own agents are not changed.
    profile = tmp_path / "unknown-tools.yaml"
    profile.write_text("rates: {unknown_tool: 1.0}\n")
    model = ScriptedModel(faults=str(profile))
    model.decide = lambda inp, skill: [ToolRequest("check_device_status", {"device_id": "p-1"})]
    OpenAIAgentsAdapter()

    async def check_device_status(context: Any, arguments: str) -> str:
        return '{"ok": true}'

    tool = FunctionTool(
        name="check_device_status",
        description="Status of a device.",
        params_json_schema={
            "type": "object",
            "properties": {"device_id": {"type": "string"}},
            "required": ["device_id"],
        },
        on_invoke_tool=check_device_status,
    )
    with model.server:
        client = AsyncOpenAI(**model.endpoint().client_options())
        agent = Agent(
            name="monitor",
            instructions="You are the monitor.",
            tools=[tool],
            model=OpenAIChatCompletionsModel(model=model.endpoint().model, openai_client=client),
        )
        with pytest.raises(ModelBehaviorError, match="not found in agent monitor"):
            await Runner.run(agent, "ALARM: pump-07 discharge pressure high")
        await client.close()


async def test_completions_are_not_stored_at_openai_and_nothing_more_is_sent_elsewhere(
    model: ScriptedModel,
) -> None:
    # The SDK sends store=true to api.openai.com unless told; other servers get nothing.
    adapter = OpenAIAgentsAdapter()
    openai_endpoint = model.endpoint(base_url="https://api.openai.com/v1")
    for endpoint, store in ((openai_endpoint, False), (model.endpoint(), None)):
        async with adapter_world(
            "openai-agents", MemoryStateStore(), RecordingBus(), endpoint, f"store-{store}"
        ) as world:
            agents = adapter.build_agents(world.ctx, RunGuard())
        assert {agent.model_settings.store for agent in agents.values()} == {store}
    await adapter.aclose()
