"""One conformance suite, run against every adapter and every scenario.

With the full-skill reference persona every scenario must pass in every framework; every tool
call must have gone through the plant's executor (its ledger holds exactly the calls the run
reports, and the trace shows one ``execute_tool`` span per call); the role handoffs must be
protocol messages on the bus; and each framework must leave spans and metrics under its name.

The runs replay the committed cassettes (``cassettes/reference/<framework>/``, docs/cassettes.md)
through the ``agentrig_replay`` fixture, with the reference model server unavailable and live
model requests blocked: the suite runs offline. ``make record`` re-records the cassettes after
an intended change; ``tests/core/llm/test_cassettes_fidelity.py`` checks them against live runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from agentrig.core.contract.results import RunResult
from agentrig.core.messaging import Delivery, Message
from agentrig.core.messaging.memory import MemoryMessageBus
from agentrig.core.plant import list_scenarios
from agentrig.core.plant.state import PlantState, plant_key
from agentrig.core.runner import RunServices, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.normalise import normalise
from agentrig.testing import AgentrigReplay

ADAPTERS = ["plain", "langchain", "autogen", "crewai"]
SCENARIOS = [scenario.id for scenario in list_scenarios()]


class RecordingBus(MemoryMessageBus):
    """The in-memory bus, keeping a copy of every message delivered through it."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[Message] = []

    async def receive(self, agent_id: str, timeout: float | None = None) -> Delivery | None:
        delivery = await super().receive(agent_id, timeout)
        if delivery is not None:
            self.delivered.append(delivery.message)
        return delivery


def _total(registry: CollectorRegistry, sample_name: str, **labels: str) -> float:
    """The sum of every sample called ``sample_name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == sample_name
        and all(sample.labels.get(key) == value for key, value in labels.items())
    )


@pytest.fixture(params=ADAPTERS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


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
    loaded = await store.load(plant_key(spec.run_id))
    assert loaded is not None
    ledger = PlantState.model_validate(loaded.state).ledger
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
