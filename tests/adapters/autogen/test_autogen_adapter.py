"""The AutoGen adapter's own parts: team checkpoints and resume, mirrored handoffs, tool wrapping,
tool-call ids as idempotency keys, cancellation, model info.

The shared contract (tool-call order, malformed calls, turn limits, failures, clients per loop,
the missing extra) is the adapter conformance suite's: tests/adapters/test_conformance.py.

Runs go through the real AgentChat team against the in-process reference model, on the plant's
real executor and the in-memory store and bus, built the way the runner builds them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from autogen_core import CancellationToken, FunctionCall

from agentrig.adapters.autogen.adapter import (
    UNKNOWN_MODEL_INFO,
    AutoGenAdapter,
    PlantTool,
    PlantWorkbench,
    model_info_for,
)
from agentrig.adapters.autogen.state import TeamCheckpoint, TeamCheckpoints, checkpoint_key
from agentrig.core.contract.agent import Handoffs, Outcome, RunContext
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.endpoints import ModelEndpoint, parse_model_spec
from agentrig.core.messaging import Message
from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.ledger import read_ledger
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.runner import RunServices, RunSettings, RunSpec, run_matrix
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry import setup_telemetry
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.normalise import normalise
from agentrig.exceptions import AdapterError, BusError
from tests.adapters.harness import RecordingBus, adapter_world

# The in-process reference model, on purpose: crashes, resumes and cancellations need the live
# conversation (a cassette would replay one fixed exchange, not what a resumed team asks).
pytestmark = pytest.mark.allow_model_requests

SCENARIO = "blocked-discharge"

Hook = Callable[[ToolCallRecord], Awaitable[None] | None]


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
    """The world of one run, as the runner builds it (the adapter harness's), and its trace."""
    async with adapter_world(
        "autogen", store, bus, endpoint, run_id, hooks=hooks, max_turns_per_role=max_turns_per_role
    ) as world:
        attempt.records = world.records  # the same list: filled as the calls happen
        yield world.alarm, world.ctx, world.plant
    assert world.captured is not None
    trace = normalise(world.captured.records(run_id), run_id)
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


async def _ledger(store: MemoryStateStore, run_id: str) -> list[LedgerEntry]:
    return await read_ledger(store, run_id)


def _assert_no_action_twice(ledger: list[LedgerEntry]) -> None:
    keys = [entry.key for entry in ledger]
    assert len(keys) == len(set(keys))
    actions = [
        (entry.tool, json.dumps(entry.arguments, sort_keys=True))
        for entry in ledger
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
        keys = [entry.key for entry in ledger if entry.role == role]
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
    calls_before = len(await _ledger(store, "ag-handoff"))

    bus.refuse = None
    second = await _run(store, bus, "ag-handoff", endpoint)
    assert second.error is None, second.error
    assert second.segment_roles == ["operator"]
    assert set(second.llm_roles) == {"operator"}
    assert not any(r.replayed for r in second.records)
    ledger = await _ledger(store, "ag-handoff")
    assert len(ledger) == calls_before + len(second.records)
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
    assert len(await _ledger(store, "ag-tool")) == 2


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


# ---------------------------------------------------------------- errors


# ---------------------------------------------------------------- clients, model info, extra


def test_model_info_known_ids_from_autogen_others_declared() -> None:
    assert model_info_for("gpt-4o")["family"] == "gpt-4o"
    assert model_info_for("agentrig-operator") == UNKNOWN_MODEL_INFO
    assert UNKNOWN_MODEL_INFO["function_calling"] is True


def _token() -> CancellationToken:
    return CancellationToken()
