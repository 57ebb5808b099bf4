"""The AutoGen adapter's own parts: team checkpoints and resume, mirrored handoffs, tool wrapping,
tool-call ids as idempotency keys, errors raised out of run(), cancellation, the missing extra.

Runs go through the real AgentChat team against the in-process reference model, on the plant's
real executor and the in-memory store and bus, built the way the runner builds them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from autogen_core import CancellationToken, FunctionCall

from agentrig.adapters.autogen import (
    UNKNOWN_MODEL_INFO,
    AutoGenAdapter,
    PlantTool,
    PlantWorkbench,
    model_info_for,
)
from agentrig.adapters.autogen_state import TeamCheckpoint, TeamCheckpoints, checkpoint_key
from agentrig.core.contract.agent import Handoffs, Outcome, RunContext, bind_tools
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.endpoints import ModelEndpoint, parse_model_spec
from agentrig.core.messaging import Delivery, Message
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.state import PlantState, plant_key
from agentrig.core.plant.tools import ACTION_TOOLS, tools_for_role
from agentrig.core.runner import RunServices, RunSettings, RunSpec, run_matrix
from agentrig.core.state import MemoryStateStore
from agentrig.core.state.base import Versioned
from agentrig.core.telemetry import Telemetry, capture_telemetry, setup_telemetry
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.normalise import normalise
from agentrig.exceptions import AdapterError, BusError, MissingExtraError, StateError

# The in-process reference model, on purpose: crashes, resumes and cancellations need the live
# conversation (a cassette would replay one fixed exchange, not what a resumed team asks).
pytestmark = pytest.mark.allow_model_requests

SCENARIO = "blocked-discharge"

Hook = Callable[[ToolCallRecord], Awaitable[None] | None]


class RecordingBus(MemoryMessageBus):
    """The in-memory bus keeping every message delivered; ``refuse`` makes sends to it fail."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[Message] = []
        self.refuse: str | None = None

    async def send(self, message: Message) -> None:
        if self.refuse is not None and message.recipient.endswith(f":{self.refuse}"):
            raise BusError(f"test: the bus refuses messages to {message.recipient}")
        await super().send(message)

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        delivery = await super().receive(agent_id, timeout)
        if delivery is not None:
            self.delivered.append(delivery.message)
        return delivery


@dataclass
class Attempt:
    """What one run of the adapter did: its outcome or error, tool-call records, LLM roles."""

    outcome: Outcome | None = None
    error: BaseException | None = None
    records: list[ToolCallRecord] = field(default_factory=list)
    llm_roles: list[str] = field(default_factory=list)
    segment_roles: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def endpoint() -> ModelEndpoint:
    setup_telemetry()
    return parse_model_spec("reference").resolve()


@asynccontextmanager
async def _context(
    store: MemoryStateStore,
    bus: RecordingBus,
    run_id: str,
    endpoint: ModelEndpoint,
    attempt: Attempt,
    hooks: Sequence[Hook] = (),
    max_turns_per_role: int = 30,
) -> AsyncIterator[tuple[Message, RunContext, Plant]]:
    """The world of one run, as the runner builds it: plant, executor, telemetry, alarm handoff."""
    with capture_telemetry() as captured:
        telemetry = Telemetry.for_run(run_id, "autogen", SCENARIO, metrics=captured.metrics)
        with telemetry, telemetry.workflow("maintenance"):
            plant = await Plant.create(store, run_id, SCENARIO)
            executor = plant.executor(hooks=[telemetry.tool_hook, attempt.records.append, *hooks])
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
                yield alarm, ctx, plant
            finally:
                executor.close()
        trace = normalise(captured.records(run_id), run_id)
    attempt.llm_roles = [step.role for step in trace.steps() if step.kind == "llm"]
    attempt.segment_roles = [segment.role for segment in trace.roles]


async def _run(
    store: MemoryStateStore,
    bus: RecordingBus,
    run_id: str,
    endpoint: ModelEndpoint,
    hooks: Sequence[Hook] = (),
    adapter: AutoGenAdapter | None = None,
    max_turns_per_role: int = 30,
    expect_pass: bool = True,
) -> Attempt:
    """One run with a fresh adapter (a new process, as after a crash) unless one is given.

    A run that returns an outcome must pass the scenario's grading when ``expect_pass``.
    """
    attempt = Attempt()
    adapter = adapter or AutoGenAdapter()
    async with _context(store, bus, run_id, endpoint, attempt, hooks, max_turns_per_role) as (
        alarm,
        ctx,
        plant,
    ):
        try:
            attempt.outcome = await adapter.run(alarm, ctx)
        except Exception as error:
            attempt.error = error
        if attempt.outcome is not None and expect_pass:
            grade = await plant.grade(attempt.outcome.final_report)
            assert grade.passed, [c for c in grade.checks if not c.passed]
    await adapter.aclose()
    return attempt


async def _ledger(store: MemoryStateStore, run_id: str) -> PlantState:
    loaded = await store.load(plant_key(run_id))
    assert loaded is not None
    return PlantState.model_validate(loaded.state)


def _assert_no_action_twice(state: PlantState) -> None:
    keys = [entry.key for entry in state.ledger]
    assert len(keys) == len(set(keys))
    actions = [
        (entry.tool, json.dumps(entry.arguments, sort_keys=True))
        for entry in state.ledger
        if entry.tool in ACTION_TOOLS
    ]
    assert actions, "the scenario needs the operator to act"
    assert len(actions) == len(set(actions)), actions


# ---------------------------------------------------------------- persistence and handoffs


async def test_a_run_leaves_its_team_state_and_mirrors_each_handoff_in_order(
    endpoint: ModelEndpoint,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    attempt = await _run(store, bus, "ag-state", endpoint)
    assert attempt.error is None
    assert attempt.outcome is not None

    loaded = await store.load(checkpoint_key("ag-state"))
    assert loaded is not None
    # 3 turns + 2 handoffs, each saved with compare-and-set
    assert loaded.version == 5
    assert json.loads(json.dumps(loaded.state)) == loaded.state  # plain JSON, nothing pickled
    checkpoint = TeamCheckpoint.model_validate(loaded.state)
    assert list(checkpoint.answers) == list(ROLES)
    assert checkpoint.answers["operator"] == attempt.outcome.final_report

    # Each agent's own LLM context: its tool calls, answered under the ids the ledger holds.
    agents = checkpoint.team["agent_states"]
    assert set(agents) == {*ROLES, "RoundRobinGroupChatManager"}
    ledger = await _ledger(store, "ag-state")
    for role in ROLES:
        messages = agents[role]["agent_state"]["llm_context"]["messages"]
        result_ids = [
            result["call_id"]
            for message in messages
            if message["type"] == "FunctionExecutionResultMessage"
            for result in message["content"]
        ]
        keys = [entry.key for entry in ledger.ledger if entry.role == role]
        assert [f"call-{role}-{call_id}" for call_id in result_ids] == keys
        assert messages[-1]["content"] == checkpoint.answers[role]
    thread = agents["RoundRobinGroupChatManager"]["message_thread"]
    assert [m["source"] for m in thread if m["type"] == "TextMessage"] == ["user", *ROLES]

    # The handoffs the team routed are on the bus, in order, chained by causation.
    alarm, *handoffs = bus.delivered
    assert [(m.type, m.content["to_role"]) for m in bus.delivered] == [
        ("alarm", "monitor"),
        ("handoff", "diagnostician"),
        ("handoff", "operator"),
    ]
    assert [Handoffs.text_of(m) for m in handoffs] == [
        checkpoint.answers["monitor"],
        checkpoint.answers["diagnostician"],
    ]
    assert handoffs[0].causation_id == alarm.id
    assert handoffs[1].causation_id == handoffs[0].id
    assert [m.id for m in checkpoint.handoffs] == [m.id for m in handoffs]
    assert attempt.segment_roles == list(ROLES)


async def test_resume_after_a_crash_inside_the_operators_turn_acts_once(
    endpoint: ModelEndpoint,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    stalled = asyncio.Event()

    async def stall_on_first_action(record: ToolCallRecord) -> None:
        # The action is already applied in the store: the process "dies" right after it.
        if record.tool in ACTION_TOOLS and not stalled.is_set():
            stalled.set()
            await asyncio.Event().wait()

    first = Attempt()
    async with _context(store, bus, "ag-crash", endpoint, first, [stall_on_first_action]) as (
        alarm,
        ctx,
        _,
    ):
        adapter = AutoGenAdapter()
        run = asyncio.create_task(adapter.run(alarm, ctx))
        await asyncio.wait_for(stalled.wait(), 30)
        clock = time.monotonic()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        # The token cancelled the stalled tool call: AgentChat's runtime stopped, nothing waits.
        assert time.monotonic() - clock < 4.0
        await asyncio.sleep(0.05)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        await adapter.aclose()
    checkpoint = await TeamCheckpoints(store, "ag-crash").load()
    assert checkpoint is not None
    assert list(checkpoint.answers) == ["monitor", "diagnostician"]
    applied_before = [r for r in first.records if r.role == "operator"]
    assert applied_before[-1].tool in ACTION_TOOLS

    second = await _run(store, bus, "ag-crash", endpoint)
    assert second.error is None, second.error
    # Only the operator worked again; its calls up to the crash were replayed, not re-applied.
    assert {r.role for r in second.records} == {"operator"}
    assert set(second.llm_roles) == {"operator"}
    replayed = [r.replayed for r in second.records]
    assert replayed[: len(applied_before)] == [True] * len(applied_before)
    assert not any(replayed[len(applied_before) :])
    _assert_no_action_twice(await _ledger(store, "ag-crash"))
    # Both handoffs were mirrored before the crash; the resumed run sent none again.
    to_roles = [m.content["to_role"] for m in bus.delivered]
    assert to_roles == ["monitor", "diagnostician", "operator", "monitor"]


async def test_resume_with_a_pending_handoff_mirrors_it_and_runs_only_the_operator(
    endpoint: ModelEndpoint,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    bus.refuse = "operator"
    first = await _run(store, bus, "ag-handoff", endpoint)
    assert isinstance(first.error, BusError)  # raised out of run(), not swallowed
    checkpoint = await TeamCheckpoints(store, "ag-handoff").load()
    assert checkpoint is not None
    assert list(checkpoint.answers) == ["monitor", "diagnostician"]
    assert [m.content["to_role"] for m in checkpoint.handoffs] == ["diagnostician"]
    calls_before = len((await _ledger(store, "ag-handoff")).ledger)

    bus.refuse = None
    second = await _run(store, bus, "ag-handoff", endpoint)
    assert second.error is None, second.error
    assert second.segment_roles == ["operator"]
    assert set(second.llm_roles) == {"operator"}
    assert not any(r.replayed for r in second.records)
    ledger = await _ledger(store, "ag-handoff")
    assert len(ledger.ledger) == calls_before + len(second.records)
    _assert_no_action_twice(ledger)
    operator_handoff = bus.delivered[-1]
    assert operator_handoff.content["to_role"] == "operator"
    assert Handoffs.text_of(operator_handoff) == checkpoint.answers["diagnostician"]
    assert operator_handoff.causation_id == checkpoint.handoffs[0].id


async def test_a_finished_run_resumes_as_finished_without_calling_the_model(
    endpoint: ModelEndpoint,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    first = await _run(store, bus, "ag-done", endpoint)
    again = await _run(store, bus, "ag-done", endpoint)
    assert again.outcome == first.outcome
    assert again.records == []
    assert again.llm_roles == []


async def test_each_run_gets_new_agents(endpoint: ModelEndpoint) -> None:
    # AssistantAgents keep their context between runs; one adapter must not carry it over.
    store, bus, adapter = MemoryStateStore(), RecordingBus(), AutoGenAdapter()
    for run_id in ("ag-new-1", "ag-new-2"):
        await _run(store, bus, run_id, endpoint, adapter=adapter)
    contexts = []
    for run_id in ("ag-new-1", "ag-new-2"):
        checkpoint = await TeamCheckpoints(store, run_id).load()
        assert checkpoint is not None
        monitor = checkpoint.team["agent_states"]["monitor"]["agent_state"]
        contexts.append(len(monitor["llm_context"]["messages"]))
    assert contexts[0] == contexts[1] > 0


async def test_each_role_makes_at_most_max_turns_per_role_model_calls_and_still_answers(
    endpoint: ModelEndpoint,
) -> None:
    # Uncapped, every role of this scenario makes more than two model calls.
    store, bus = MemoryStateStore(), RecordingBus()
    attempt = await _run(store, bus, "ag-capped", endpoint, max_turns_per_role=2, expect_pass=False)
    assert attempt.error is None, attempt.error
    assert attempt.llm_roles == ["monitor"] * 2 + ["diagnostician"] * 2 + ["operator"] * 2
    assert attempt.outcome is not None
    # AgentChat's reflection turned the last call into an answer: each role handed one over.
    checkpoint = await TeamCheckpoints(store, "ag-capped").load()
    assert checkpoint is not None
    assert list(checkpoint.answers) == list(ROLES)
    assert all(answer.strip() for answer in checkpoint.answers.values())


async def test_a_checkpoint_that_is_not_one_is_reported_and_kept(endpoint: ModelEndpoint) -> None:
    store = MemoryStateStore()
    await store.save(checkpoint_key("ag-bad"), {"format": 1, "team": "not a team"})
    with pytest.raises(AdapterError, match=r"cannot be resumed.*delete the key"):
        await TeamCheckpoints(store, "ag-bad").load()
    loaded = await store.load(checkpoint_key("ag-bad"))
    assert loaded is not None
    assert loaded.state["team"] == "not a team"


async def test_a_team_state_agentchat_refuses_is_reported_and_kept(
    endpoint: ModelEndpoint,
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    broken = TeamCheckpoint(framework_version="0.7.5", team={"agent_states": {}})
    await store.save(checkpoint_key("ag-refused"), broken.model_dump(mode="json"))
    attempt = await _run(store, bus, "ag-refused", endpoint)
    assert isinstance(attempt.error, AdapterError)
    assert "does not load" in str(attempt.error)
    assert "Agent state for monitor not found" in str(attempt.error)
    assert attempt.records == []
    loaded = await store.load(checkpoint_key("ag-refused"))
    assert loaded is not None
    assert loaded.version == 1


# ---------------------------------------------------------------- telemetry


async def test_concurrent_runs_keep_their_spans_under_their_own_roles(tmp_path: Path) -> None:
    # AgentChat runs agents as tasks of each team's runtime; each must carry its own run's context.
    settings = RunSettings(state_url="memory://", out_dir=tmp_path)
    scenarios = ["blocked-discharge", "motor-overheating", "stuck-pressure-sensor"]
    specs = [RunSpec(framework="autogen", scenario=s, run_id=f"ag-conc-{s}") for s in scenarios]
    async with RunServices(settings, store=MemoryStateStore(), bus=RecordingBus()) as services:
        results = await run_matrix(specs, services, concurrency=3)
    assert sorted(r.status for r in results) == ["passed"] * 3
    for result in results:
        spans = read_trace_file(result.trace_file or "")
        assert {s.trace_id for s in spans} == {result.trace_id}
        assert {s.attributes.get("agentrig.run_id") for s in spans} == {result.run_id}
        by_id = {s.span_id: s for s in spans}
        steps = [s for s in spans if s.name.startswith(("chat ", "execute_tool "))]
        assert len([s for s in steps if s.name.startswith("execute_tool ")]) == result.tool_calls
        for step in steps:
            parent = by_id[step.parent_span_id or ""]
            assert parent.name == f"invoke_agent {step.attributes['agentrig.role']}"
            assert parent.attributes.get("agentrig.role") == step.attributes["agentrig.role"]
        trace = normalise(spans, result.run_id)
        assert [segment.role for segment in trace.roles] == list(ROLES)


# ---------------------------------------------------------------- tools


async def test_plant_tool_sends_the_catalogue_schema_and_keys_calls_by_their_id(
    endpoint: ModelEndpoint,
) -> None:
    store, bus, attempt = MemoryStateStore(), RecordingBus(), Attempt()
    async with _context(store, bus, "ag-tool", endpoint, attempt) as (_, ctx, __):
        bound = next(t for t in ctx.tools["monitor"] if t.name == "check_device_status")
        tool = PlantTool(bound, order=asyncio.Lock())
        assert tool.schema["parameters"] == bound.openai_tool(strict=True)["function"]["parameters"]
        assert tool.schema.get("strict") is True
        assert tool.args_type() is bound.args_model

        token = _token()
        text = await tool.run_json({"device_id": "pump-07"}, token, call_id="call_abc")
        assert json.loads(text)["device_id"] == "pump-07"
        again = await tool.run_json({"device_id": "pump-07"}, token, call_id="call_abc")
        assert again == text  # same id: replayed from the ledger, not run twice
        # Arguments the args model would refuse still reach the executor, which records them.
        refused = json.loads(await tool.run_json({"device": "pump-07"}, token, call_id="call_x"))
        assert refused["ok"] is False
    assert [(r.idempotency_key, r.replayed) for r in attempt.records] == [
        ("call-monitor-call_abc", False),
        ("call-monitor-call_abc", True),
        ("call-monitor-call_x", False),
    ]
    assert len((await _ledger(store, "ag-tool")).ledger) == 2


async def test_calls_agentchat_cannot_run_still_reach_the_executor(
    endpoint: ModelEndpoint,
) -> None:
    store, bus, attempt = MemoryStateStore(), RecordingBus(), Attempt()
    async with _context(store, bus, "ag-unrunnable", endpoint, attempt) as (_, ctx, __):
        bench = PlantWorkbench(ctx.tools["monitor"])
        runnable = FunctionCall(id="c1", name="check_device_status", arguments='{"device_id": "p"}')
        assert await bench.answer_unrunnable(runnable) is None  # AgentChat runs it as usual
        malformed = FunctionCall(id="c2", name="check_device_status", arguments='{"device_id": ')
        unknown = FunctionCall(id="c3", name="restart_device", arguments='{"device_id": "p"}')
        answers = [await bench.answer_unrunnable(call) for call in (malformed, unknown)]
    assert [a.is_error if a else None for a in answers] == [True, True]
    assert [a.call_id if a else None for a in answers] == ["c2", "c3"]
    # Recorded like any other call: under the model's id when it named a tool of the role.
    assert [(r.tool, r.idempotency_key.startswith("call-monitor-c2")) for r in attempt.records] == [
        ("check_device_status", True),
        ("restart_device", False),
    ]
    assert all(not r.result.ok for r in attempt.records)


async def test_under_injected_tool_call_faults_every_call_the_model_made_is_recorded(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "tool-faults.yaml"
    profile.write_text("rates: {malformed_tool_arguments: 0.25, unknown_tool: 0.25}\n")
    faulty = parse_model_spec("reference").resolve(faults=str(profile))
    store, bus = MemoryStateStore(), RecordingBus()
    attempt = await _run(store, bus, "ag-faults", faulty, expect_pass=False)
    assert attempt.error is None, attempt.error
    checkpoint = await TeamCheckpoints(store, "ag-faults").load()
    assert checkpoint is not None
    made = [
        call
        for role in ROLES
        for message in checkpoint.team["agent_states"][role]["agent_state"]["llm_context"][
            "messages"
        ]
        if message["type"] == "AssistantMessage" and isinstance(message["content"], list)
        for call in message["content"]
    ]
    assert len(attempt.records) == len(made)
    role_tools = {role: {spec.name for spec in tools_for_role(role)} for role in ROLES}
    odd = [r for r in attempt.records if r.tool not in role_tools[r.role] or "_raw" in r.arguments]
    assert odd, "the profile should have injected malformed or unknown tool calls"
    assert all(not r.result.ok for r in odd)


class SlowFirstLoadStore(MemoryStateStore):
    """A store whose first plant load is slow, so an unordered second call would commit first."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = False

    async def load(self, key: str) -> Versioned | None:
        if self.slow and key.endswith("/plant"):
            self.slow = False
            await asyncio.sleep(0.05)
        return await super().load(key)


async def test_tool_calls_of_one_response_apply_in_the_order_asked(
    endpoint: ModelEndpoint,
) -> None:
    store, bus, attempt = SlowFirstLoadStore(), RecordingBus(), Attempt()
    async with _context(store, bus, "ag-order", endpoint, attempt) as (_, ctx, __):
        order = asyncio.Lock()  # one per run, as build_team makes it
        tools = {t.name: PlantTool(t, order=order) for t in ctx.tools["operator"]}
        store.slow = True
        token = _token()
        # AgentChat starts a response's tool calls together (asyncio.gather), like this.
        await asyncio.gather(
            tools["set_valve"].run_json(
                {"device_id": "valve-12", "position_percent": 50}, token, call_id="a"
            ),
            tools["check_device_status"].run_json({"device_id": "valve-12"}, token, call_id="b"),
        )
    ledger = (await _ledger(store, "ag-order")).ledger
    assert [entry.tool for entry in ledger] == ["set_valve", "check_device_status"]


# ---------------------------------------------------------------- errors


class FailingPlantStore(MemoryStateStore):
    """A store that fails the plant's saves once ``broken`` (the plant's database went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    async def save(self, key: str, state: Any, expected_version: int | None = None) -> int:
        if self.broken and key.endswith("/plant"):
            raise StateError("test: the plant's database is unreachable")
        return await super().save(key, state, expected_version)


async def test_a_tool_that_finds_the_plant_unusable_fails_the_run(
    endpoint: ModelEndpoint,
) -> None:
    store, bus = FailingPlantStore(), RecordingBus()

    def break_in_the_diagnosticians_turn(record: ToolCallRecord) -> None:
        if record.role == "diagnostician":
            store.broken = True

    attempt = await _run(store, bus, "ag-broken", endpoint, [break_in_the_diagnosticians_turn])
    # AgentChat hands a tool's exception to the model as text; the adapter still raises it.
    assert isinstance(attempt.error, StateError)
    assert "unreachable" in str(attempt.error)
    checkpoint = await TeamCheckpoints(store, "ag-broken").load()
    assert checkpoint is not None
    assert list(checkpoint.answers) == ["monitor"]  # the failed turn was not saved as finished


async def test_a_model_error_raises_its_own_type(endpoint: ModelEndpoint) -> None:
    unreachable = endpoint.model_copy(
        update={"base_url": "http://127.0.0.1:9/v1", "max_retries": 0, "timeout": 2.0}
    )
    store, bus = MemoryStateStore(), RecordingBus()
    attempt = await _run(store, bus, "ag-model-down", unreachable)
    # Not AgentChat's RuntimeError(str(error)): the openai error the runner should report.
    assert isinstance(attempt.error, openai.APIConnectionError)


# ---------------------------------------------------------------- clients, model info, extra


async def test_one_model_client_per_loop_closed_by_aclose(endpoint: ModelEndpoint) -> None:
    adapter = AutoGenAdapter()
    store, bus = MemoryStateStore(), RecordingBus()
    for run_id in ("ag-client-1", "ag-client-2"):
        attempt = Attempt()
        async with _context(store, bus, run_id, endpoint, attempt) as (alarm, ctx, _):
            await adapter.run(alarm, ctx)
    assert len(adapter._clients) == 1
    client = next(iter(adapter._clients.values()))
    assert not client._client.is_closed()
    await adapter.aclose()
    assert adapter._clients == {}
    assert client._client.is_closed()


def test_model_info_known_ids_from_autogen_others_declared() -> None:
    assert model_info_for("gpt-4o")["family"] == "gpt-4o"
    assert model_info_for("agentrig-operator") == UNKNOWN_MODEL_INFO
    assert UNKNOWN_MODEL_INFO["function_calling"] is True


def test_missing_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "autogen_agentchat", None)  # import fails as if absent
    monkeypatch.delitem(sys.modules, "agentrig.adapters.autogen")
    with pytest.raises(MissingExtraError, match=r"pip install 'agentrig\[autogen\]'"):
        importlib.import_module("agentrig.adapters.autogen")


def _token() -> CancellationToken:
    return CancellationToken()
