"""THE adapter conformance suite: the contract every registered adapter runs, ``plain`` included.

Parametrised over the adapters the registry finds installed (``agentrig.adapters`` entry
points), so a new adapter gets the whole contract by registering. What an adapter may be relied on
for, whatever its framework:

- every scenario passes, every tool call through the plant's executor, handoffs on the bus,
  spans and metrics under its name (replayed from the committed cassettes);
- a reply's tool calls reach the plant in the model's order;
- calls the framework would answer itself (unknown tool, arguments its schema rejects, arguments
  that are not JSON) reach the executor, which records them; the role still answers;
- a role makes at most ``max_turns_per_role`` model calls and the run still ends in an outcome;
- a run killed after an action resumes under the same run id without acting twice;
- a tool that finds the plant unusable fails the run with that error; later roles never start;
- an unreachable model raises the client's error out of ``run()``, with no handoff sent;
- one model client per event loop, forgotten with its loop, closed by ``aclose()``;
- a missing extra is named, with the install command.

Framework-specific behaviour (LangGraph checkpoints, AgentChat team state, CrewAI task outputs
and threads) is tested under ``tests/adapters/<framework>/``. Most tests here talk to an
in-process reference model scripted per test (``allow_model_requests``): they need the live
conversation -- a resumed run asks what a cassette never recorded.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import openai
import pytest
from prometheus_client import CollectorRegistry

from agentrig.adapters._loop_cache import LoopClients
from agentrig.core.contract.agent import AgentAdapter, no_final_answer
from agentrig.core.contract.registry import (
    ENTRY_POINT_GROUP,
    installed_adapter_names,
    load_adapter,
)
from agentrig.core.contract.results import RunResult
from agentrig.core.contract.roles import ROLES
from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.plant import list_scenarios
from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.runner import RunServices, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.instrumentation import instrument_framework
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.normalise import normalise
from agentrig.exceptions import StateError
from agentrig.testing import AgentrigReplay
from tests.adapters.harness import (
    FOUR_CALLS,
    RecordingBus,
    ScriptedModel,
    adapter_world,
    four_calls_at_once,
    ledger_of,
    run_killed_after_first_action,
    run_once,
)

ADAPTERS = installed_adapter_names()
SCENARIOS = [scenario.id for scenario in list_scenarios()]

# The module an adapter's missing extra makes unimportable. plain needs only `openai`, a core
# dependency of agentrig: it has no extra to name.
FRAMEWORK_MODULES = {"langchain": "langchain", "autogen": "autogen_agentchat", "crewai": "crewai"}
FRAMEWORK_MODULES["agent-framework"] = "agent_framework"
FRAMEWORK_MODULES["smolagents"] = "smolagents"
FRAMEWORK_MODULES["langgraph"] = "langgraph"
FRAMEWORK_MODULES["pydantic-ai"] = "pydantic_ai"
FRAMEWORK_MODULES["openai-agents"] = "agents"
FRAMEWORK_MODULES["google-adk"] = "google.adk"

# Frameworks that repair tool arguments written as a Python literal (single quotes, True/None)
# instead of refusing them: Google ADK's LiteLLM bridge (ast.literal_eval, with a warning).
REPAIRS_PYTHON_LITERAL_ARGUMENTS = {"google-adk"}

live_model = pytest.mark.allow_model_requests


def new_adapter(framework: str) -> AgentAdapter:
    """A fresh instance (a new process, as after a crash): no client or state carried over."""
    adapter: AgentAdapter = type(load_adapter(framework))()
    return adapter


def answer(role: str) -> FinalAnswer:
    return FinalAnswer(f"{role}: done.\nROOT_CAUSE: blocked_discharge\nDEVICE: valve-12")


@pytest.fixture(params=ADAPTERS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _total(registry: CollectorRegistry, sample_name: str, **labels: str) -> float:
    """The sum of every sample called ``sample_name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == sample_name
        and all(sample.labels.get(key) == value for key, value in labels.items())
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_every_scenario_passes_through_the_shared_layers(
    framework: str, scenario: str, tmp_path: Path, agentrig_replay: AgentrigReplay
) -> None:
    assert agentrig_replay.replaying  # record mode none: no model server, no network
    store = MemoryStateStore()
    bus = RecordingBus()
    metrics = AgentrigMetrics()
    settings = agentrig_replay.run_settings(out_dir=tmp_path)
    spec = RunSpec(framework=framework, scenario=scenario, run_id=f"conf-{framework}-{scenario}")
    async with RunServices(settings, store=store, bus=bus, metrics=metrics) as services:
        result: RunResult = await execute_run(spec, services)

    failed = [f"{g.name}: {g.detail}" for g in result.grades if not g.passed]
    assert result.status == "passed", (result.errors, failed, result.final_report)
    assert result.score == 1.0
    assert result.errors == []
    assert result.llm_calls >= 3  # at least one model call per role
    assert result.input_tokens > 0
    assert result.output_tokens > 0

    # Every tool call went through the executor: its ledger is exactly the calls counted.
    ledger = await ledger_of(store, spec.run_id)
    assert len(ledger) == result.tool_calls > 0
    trace = normalise(read_trace_file(result.trace_file or ""), spec.run_id)
    assert trace.tool_calls == result.tool_calls
    assert {segment.role for segment in trace.roles} >= {"monitor", "diagnostician", "operator"}

    # The alarm and both handoffs travelled on the bus, in order, with trace context.
    handoffs = [m for m in bus.delivered if m.correlation_id == spec.run_id]
    assert [(m.type, m.content["to_role"]) for m in handoffs] == [
        ("alarm", "monitor"),
        ("handoff", "diagnostician"),
        ("handoff", "operator"),
    ]
    assert all("traceparent" in m.headers for m in handoffs)
    assert all(result.trace_id and result.trace_id in m.headers["traceparent"] for m in handoffs)

    # Spans and metrics exist under this framework's name.
    registry = metrics.registry
    runs = _total(registry, "agentrig_runs_total", framework=framework, status="passed")
    assert runs == 1.0
    assert _total(registry, "agentrig_tool_calls_total", framework=framework) == result.tool_calls
    # One token-usage observation per LLM call, counted from the chat spans.
    input_observations = _total(
        registry, "gen_ai_client_token_usage_count", framework=framework, gen_ai_token_type="input"
    )
    assert input_observations == result.llm_calls
    input_tokens = _total(
        registry, "gen_ai_client_token_usage_sum", framework=framework, gen_ai_token_type="input"
    )
    assert input_tokens == result.input_tokens


# ------------------------------------------------------------------ tool calls


@live_model
async def test_a_replys_tool_calls_reach_the_plant_in_the_models_order(
    framework: str, model: ScriptedModel
) -> None:
    # Frameworks run a reply's calls concurrently (LangGraph tasks, AgentChat gather, CrewAI
    # threads); the plant's clock makes order matter. Instrumented, as in a real run: the
    # OpenInference callbacks that hop through threads are what reordered LangChain's calls.
    instrument_framework(framework)
    model.decide = four_calls_at_once
    adapter = new_adapter(framework)
    for attempt in range(3):
        _, world = await run_once(
            adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), f"order-{attempt}"
        )
        ledger = await world.ledger()
        assert [(e.tool, e.arguments) for e in ledger] == [
            (c.tool, c.arguments) for c in FOUR_CALLS
        ]
    await adapter.aclose()


@live_model
async def test_calls_the_framework_would_answer_itself_reach_the_executor(
    framework: str, tmp_path: Path
) -> None:
    # Every tool-calling reply of the model is made malformed or names a tool the role lacks.
    profile = tmp_path / "tool-faults.yaml"
    profile.write_text("rates: {malformed_tool_arguments: 0.5, unknown_tool: 0.5}\n")
    model = ScriptedModel(faults=str(profile))
    monitor_turns = 0

    def monitor_then_answer(inp: PolicyInput, skill: Skill) -> Decision:
        nonlocal monitor_turns
        if inp.role == "monitor" and monitor_turns < 6:
            monitor_turns += 1
            return [ToolRequest("check_device_status", {"device_id": f"pump-0{monitor_turns}"})]
        return answer(inp.role or "unknown")

    model.decide = monitor_then_answer
    adapter = new_adapter(framework)
    with model.server:
        outcome, world = await run_once(
            adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "malformed"
        )
    await adapter.aclose()
    made = model.recorder.tool_calls()
    not_json = [c for c in made if not _is_json(c["function"]["arguments"])]
    unknown = [c for c in made if c["function"]["name"] != "check_device_status"]
    assert not_json, made  # the profile really sent arguments that are not JSON
    assert unknown, made  # and tool names the role does not have
    # The executor saw every call the model made, in order, and refused each bad one.
    assert [r.tool for r in world.records] == [c["function"]["name"] for c in made]
    assert all(not r.result.ok for r in world.records if r.tool != "check_device_status")
    ledger = await world.ledger()
    assert len(ledger) == len(made)
    sent = [c["function"]["arguments"] for c in made]
    if framework in REPAIRS_PYTHON_LITERAL_ARGUMENTS:
        # The framework repairs arguments written as a Python literal and runs the call: the
        # executor records the repaired object (a finding its adapter's docs page reports).
        repaired = [(e, text) for e, text in zip(ledger, sent, strict=True) if not _is_json(text)]
        assert repaired
        assert all(e.arguments == ast.literal_eval(text) for e, text in repaired), repaired
    else:
        assert sum(isinstance(e.arguments, str) for e in ledger) >= 1  # the non-JSON text, as sent
    assert all(outcome.answers[role].strip() for role in ROLES)  # each role still answered


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ limits, resume, failures


@live_model
async def test_a_role_makes_at_most_max_turns_per_role_model_calls(
    framework: str, model: ScriptedModel
) -> None:
    def never_done(inp: PolicyInput, skill: Skill) -> Decision:
        if not inp.tools:  # a framework's last call may offer no tools: then answer
            return answer(inp.role or "unknown")
        device = f"pump-0{len(inp.observations) % 9 + 1}"
        return [ToolRequest("check_device_status", {"device_id": device})]

    model.decide = never_done
    adapter = new_adapter(framework)
    outcome, _ = await run_once(
        adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), "turns", max_turns_per_role=2
    )
    await adapter.aclose()
    # Out of turns is the agent's failure, graded, not an error: every role still hands over.
    assert dict(model.calls) == dict.fromkeys(ROLES, 2)
    assert set(outcome.answers) == set(ROLES)
    assert all(
        text.strip() or text == no_final_answer(role, 2) for role, text in outcome.answers.items()
    )


@live_model
async def test_a_run_killed_after_an_action_resumes_without_acting_twice(
    framework: str, model: ScriptedModel
) -> None:
    store, bus = MemoryStateStore(), RecordingBus()
    # The action is already applied in the store: the process "dies" right after it.
    await run_killed_after_first_action(
        new_adapter(framework), store, bus, model.endpoint(), "resume"
    )
    before = await ledger_of(store, "resume")
    assert [e.tool for e in before if e.tool in ACTION_TOOLS] != []

    second = new_adapter(framework)
    outcome, resumed = await run_once(second, store, bus, model.endpoint(), "resume")
    await second.aclose()
    grade = await resumed.plant.grade(outcome.final_report)
    assert grade.passed, [c.detail for c in grade.checks if not c.passed]
    ledger = await ledger_of(store, "resume")
    assert ledger[: len(before)] == before
    actions = [(e.tool, json.dumps(e.arguments, sort_keys=True)) for e in ledger]
    actions = [action for action in actions if action[0] in ACTION_TOOLS]
    assert len(actions) == len(set(actions)), actions  # no action applied twice


class FailingPlantStore(MemoryStateStore):
    """A store that fails the plant's saves once ``broken`` (the plant's database went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    async def save(self, key: str, state: object, expected_version: int | None = None) -> int:
        if self.broken and key.endswith("/plant"):
            raise StateError("test: the plant's database is unreachable")
        return await super().save(key, state, expected_version)  # type: ignore[arg-type]


@live_model
async def test_a_tool_that_finds_the_plant_unusable_fails_the_run(
    framework: str, model: ScriptedModel
) -> None:
    store, bus = FailingPlantStore(), RecordingBus()

    def break_after_one_call(record: ToolCallRecord) -> None:
        store.broken = True  # the monitor's next tool call cannot save the plant

    adapter = new_adapter(framework)
    async with adapter_world(
        framework, store, bus, model.endpoint(), "unusable", hooks=[break_after_one_call]
    ) as world:
        # Frameworks hand a tool's exception to the model as text; the adapter still raises it.
        with pytest.raises(StateError, match="unreachable"):
            await adapter.run(world.alarm, world.ctx)
    await adapter.aclose()
    assert model.calls["diagnostician"] == model.calls["operator"] == 0
    assert [m.type for m in bus.delivered] == ["alarm"]


@live_model
async def test_an_unreachable_model_raises_the_clients_error(framework: str) -> None:
    adapter = new_adapter(framework)
    unreachable = ScriptedModel.unreachable_endpoint()
    bus = RecordingBus()
    async with adapter_world(framework, MemoryStateStore(), bus, unreachable, "down") as world:
        with pytest.raises(Exception) as raised:
            await adapter.run(world.alarm, world.ctx)
    await adapter.aclose()
    # The client's own error, or a framework's error raised from it (CrewAI re-raises it as
    # ConnectionError "from" it) or while handling it (LiteLLM, under Google ADK, raises
    # litellm.InternalServerError there): never swallowed into an answer. The chain is walked
    # as failures.py attributes errors, and as Python prints them.
    chain: list[BaseException] = []
    error: BaseException | None = raised.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(link, openai.APIConnectionError) for link in chain), chain
    assert [m.type for m in bus.delivered] == ["alarm"]  # no handoff for a role that failed


# ------------------------------------------------------------------ clients, extras


def _clients_of(adapter: AgentAdapter) -> LoopClients[object]:
    found = [value for value in vars(adapter).values() if isinstance(value, LoopClients)]
    if not found:
        pytest.skip(f"{adapter.name} keeps no agentrig LoopClients cache")
    clients: LoopClients[object] = found[0]
    return clients


@live_model
# The first loop ends without aclose() on purpose: its client's sockets are left to the GC.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_one_model_client_per_event_loop_even_when_a_loop_is_not_closed(
    framework: str, model: ScriptedModel
) -> None:
    adapter = new_adapter(framework)
    clients = _clients_of(adapter)

    async def two_runs(tag: str, close: bool) -> list[object]:
        for number in (1, 2):
            outcome, _ = await run_once(
                adapter, MemoryStateStore(), RecordingBus(), model.endpoint(), f"{tag}-{number}"
            )
            assert outcome.root_cause == "blocked_discharge"
        used = clients.of_loop()
        assert len(used) == 1  # both runs of this loop shared one client
        if close:
            await adapter.aclose()
            assert clients.of_loop() == []
        return used

    # A loop that ends without aclose(), then a new one -- which may well get the same id():
    # the new loop builds its own client rather than reuse the first loop's pool.
    first = asyncio.run(two_runs("loop-1", close=False))
    gc.collect()
    second = asyncio.run(two_runs("loop-2", close=True))
    assert all(client is not first[0] for client in second)
    # The first loop's client and sockets sit in reference cycles: collect them here, under this
    # test's warning filters, not in whichever later test (or the session's end) the garbage
    # collector happens to run in, where the unclosed socket would fail the run.
    del first, second
    adapter = clients = None  # type: ignore[assignment]  # their caches hold the first loop
    gc.collect()


def _adapter_module(framework: str) -> str:
    """The module the adapter's entry point names (``google-adk`` -> ``...adapters.google_adk``)."""
    (point,) = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == framework]
    return point.value.partition(":")[0]


def test_a_missing_extra_is_named_with_the_install_command(framework: str) -> None:
    module = FRAMEWORK_MODULES.get(framework)
    if module is None:
        pytest.skip(f"{framework} needs no extra (its client is a core dependency)")
    code = (
        "import importlib, sys\n"
        f"sys.modules[{module!r}] = None  # as if the extra were not installed\n"
        "try:\n"
        f"    importlib.import_module({_adapter_module(framework)!r})\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTRIG_LOG_LEVEL": "WARNING"},
        check=True,
    )
    assert done.stdout.strip().endswith(
        f"needs the '{framework}' extra: pip install 'agentrig[{framework}]'"
    )
    assert done.stdout.startswith("MissingExtraError ")
