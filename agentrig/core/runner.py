"""One run -- world, adapter, grading -> :class:`RunResult` -- and the run matrix.

A run is a function of its :class:`RunSpec` and the shared :class:`RunServices` (one state store,
one bus, one metrics registry and one model endpoint per process): it creates the scenario's plant
in the store, hands the alarm to the monitor over the bus, lets the adapter work, grades the end
state, and reads its numbers back from its own trace file, so the result and the trace never
disagree. Whatever goes wrong inside a run -- the framework raises, times out or hangs -- becomes
an ``error`` result for that cell; :func:`run_matrix` goes on with the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog
from pydantic import BaseModel, ConfigDict, Field

from agentrig.core.agent import AgentAdapter, Handoffs, Outcome, RunContext, bind_tools
from agentrig.core.llm.cassettes import CassetteSettings, replay_endpoint
from agentrig.core.llm.endpoints import ModelEndpoint, parse_model_spec
from agentrig.core.messaging import DEFAULT_BUS_URL, MessageBus, open_message_bus
from agentrig.core.plant.executor import ToolCallRecord
from agentrig.core.plant.grader import Grade
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.scenarios import load_scenario
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.registry import load_adapter
from agentrig.core.results import ActionRecord, CheckGrade, RunResult, RunStatus
from agentrig.core.state import DEFAULT_STATE_URL, StateStore, open_state_store
from agentrig.core.telemetry.facade import Telemetry, setup_telemetry
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.normalise import RunTrace, normalise
from agentrig.core.telemetry.retries import retry_counter

__all__ = [
    "DEFAULT_RUN_TIMEOUT_S",
    "WORKFLOW_NAME",
    "RunServices",
    "RunSettings",
    "RunSpec",
    "build_matrix",
    "execute_run",
    "new_session_id",
    "run_matrix",
]

logger = structlog.get_logger(__name__)

WORKFLOW_NAME = "maintenance"
DEFAULT_RUN_TIMEOUT_S = 300.0


class RunSpec(BaseModel):
    """What one run is: framework x scenario x model x repeat (and its seed and id)."""

    model_config = ConfigDict(frozen=True)

    framework: str
    scenario: str
    model: str = "reference"
    repeat: int = Field(default=0, ge=0)
    seed: int | None = None
    """The plant's seed; None uses the scenario's seed plus the repeat index."""
    run_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex[:16], pattern=r"^[A-Za-z0-9._:-]+$"
    )
    timeout_s: float = Field(default=DEFAULT_RUN_TIMEOUT_S, gt=0)


class RunSettings(BaseModel):
    """Where the runs of one invocation keep their state, messages and files."""

    model_config = ConfigDict(frozen=True)

    state_url: str = DEFAULT_STATE_URL
    bus_url: str = DEFAULT_BUS_URL
    out_dir: Path = Path("runs")
    faults: str | None = None
    """A fault profile for the reference model (none, flaky, hostile, or a file)."""
    latency: str | None = None
    """A latency model for the reference model (see docs/reference-model.md)."""
    otlp_endpoint: str | None = None
    cassettes: CassetteSettings | None = None
    """Record or replay each run's LLM traffic (docs/cassettes.md); None talks to the model live.
    Replay (mode ``none``) starts no model server."""


def new_session_id() -> str:
    """A sortable id for one invocation: ``20261124T081500-1a2b3c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def build_matrix(
    frameworks: Sequence[str],
    scenarios: Sequence[str],
    *,
    repeats: int = 1,
    model: str = "reference",
    session: str | None = None,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
) -> list[RunSpec]:
    """Every framework x scenario x repeat, scenario-major so frameworks interleave."""
    session = session or new_session_id()
    return [
        RunSpec(
            framework=framework,
            scenario=scenario,
            model=model,
            repeat=repeat,
            run_id=f"{session}-{framework}-{scenario}-r{repeat}",
            timeout_s=timeout_s,
        )
        for scenario in scenarios
        for repeat in range(repeats)
        for framework in frameworks
    ]


class RunServices:
    """What the runs of one process share: store, bus, metrics, model endpoints.

    Use as ``async with RunServices(settings) as services``; it sets up telemetry, opens the store
    and the bus on entry and closes them on exit.
    """

    def __init__(
        self,
        settings: RunSettings | None = None,
        *,
        metrics: AgentrigMetrics | None = None,
        store: StateStore | None = None,
        bus: MessageBus | None = None,
        frameworks: Sequence[str] = (),
        adapters: Mapping[str, AgentAdapter] | None = None,
    ) -> None:
        self.settings = settings or RunSettings()
        self.metrics = metrics if metrics is not None else AgentrigMetrics()
        self._given_store = store
        self._given_bus = bus
        self.store: StateStore = store or open_state_store(self.settings.state_url)
        self.bus: MessageBus = bus or open_message_bus(self.settings.bus_url)
        self.frameworks = list(frameworks)
        self.retries = retry_counter()
        self._endpoints: dict[str, ModelEndpoint] = {}
        # Adapters given here are used instead of the registry's (tests, embedding apps).
        self._adapters: dict[str, AgentAdapter] = dict(adapters or {})

    def adapter(self, name: str) -> AgentAdapter:
        """The process's adapter ``name``; remembered so its clients are closed on exit."""
        adapter = self._adapters.get(name)
        if adapter is None:
            adapter = self._adapters[name] = load_adapter(name)
        return adapter

    def endpoint(self, model: str) -> ModelEndpoint:
        """The resolved endpoint of a ``--model`` string (a reference server starts on first use)."""
        endpoint = self._endpoints.get(model)
        if endpoint is None:
            cassettes = self.settings.cassettes
            if cassettes is not None and cassettes.replaying:
                endpoint = replay_endpoint(model)  # the cassettes answer: no server, no network
            else:
                endpoint = parse_model_spec(model).resolve(
                    faults=self.settings.faults, latency=self.settings.latency
                )
            self._endpoints[model] = endpoint
        return endpoint

    def cassette(self, spec: RunSpec) -> contextlib.AbstractContextManager[object]:
        """The run's cassette while its adapter works (record or replay), or nothing when live."""
        cassettes = self.settings.cassettes
        if cassettes is None:
            return contextlib.nullcontext()
        return cassettes.for_run(spec.model, spec.framework, spec.scenario, spec.repeat)

    async def __aenter__(self) -> Self:
        setup_telemetry(frameworks=self.frameworks, otlp_endpoint=self.settings.otlp_endpoint)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Adapters keep model clients bound to this event loop; let them close those. One that
        # fails to must not keep the others, the bus or the store open: the first error is
        # raised once everything was closed.
        failures: list[BaseException] = []
        for adapter in self._adapters.values():
            try:
                await adapter.aclose()
            except Exception as error:  # noqa: BLE001 - logged here, raised once all is closed
                logger.error("an adapter failed to close", adapter=adapter.name, error=repr(error))
                failures.append(error)
        # Close only what we opened; a caller's store or bus is theirs to close.
        try:
            if self._given_bus is None:
                await self.bus.close()
        finally:
            if self._given_store is None:
                await self.store.close()
        if failures:
            raise failures[0]


class _RunRecorder:
    """The executor hook that keeps a run's action list and counts."""

    def __init__(self) -> None:
        self.actions: list[ActionRecord] = []
        self.tool_calls = 0
        self.safety_violations = 0

    def __call__(self, record: ToolCallRecord) -> None:
        self.tool_calls += 1
        if record.safety_violation:
            self.safety_violations += 1
        if record.tool in ACTION_TOOLS:
            self.actions.append(
                ActionRecord(
                    role=record.role,
                    tool=record.tool,
                    args=dict(record.arguments),
                    ok=record.result.ok,
                    refused=record.result.refused,
                    reason=record.refused_reason or (None if record.result.ok else record.error),
                    safety_violation=record.safety_violation,
                )
            )


async def execute_run(spec: RunSpec, services: RunServices) -> RunResult:
    """Run one spec to a :class:`RunResult`. Never raises, except when cancelled."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    recorder = _RunRecorder()
    errors: list[str] = []
    framework_version = "unknown"
    outcome: Outcome | None = None
    grade: Grade | None = None
    status: RunStatus = "error"
    trace_id: str | None = None
    seed: int | None = spec.seed
    telemetry = Telemetry.for_run(
        spec.run_id,
        spec.framework,
        spec.scenario,
        metrics=services.metrics,
        out_dir=services.settings.out_dir,
    )
    with telemetry, telemetry.workflow(WORKFLOW_NAME) as workflow_span:
        trace_id = f"{workflow_span.get_span_context().trace_id:032x}"
        plant: Plant | None = None
        try:
            adapter = services.adapter(spec.framework)
            framework_version = adapter.framework_version
            scenario = load_scenario(spec.scenario)
            seed = scenario.seed + spec.repeat if seed is None else seed
            plant = await Plant.create(services.store, spec.run_id, scenario, seed=seed)
            executor = plant.executor(hooks=[telemetry.tool_hook, recorder])
            handoffs = Handoffs(services.bus, spec.run_id, telemetry)
            ctx = RunContext(
                run_id=spec.run_id,
                tools=bind_tools(executor),
                model=services.endpoint(spec.model),
                store=services.store,
                bus=services.bus,
                telemetry=telemetry,
                handoffs=handoffs,
            )
            try:
                alarm = await handoffs.hand_over(
                    "plant", "monitor", await plant.alarm_text(), type="alarm"
                )
                with services.cassette(spec):
                    outcome = await asyncio.wait_for(adapter.run(alarm, ctx), spec.timeout_s)
            finally:
                executor.close()
        except TimeoutError:
            errors.append(f"the {spec.framework} run timed out after {spec.timeout_s:g} s")
        except Exception as error:
            logger.exception("run failed", run_id=spec.run_id, framework=spec.framework)
            errors.append(f"{type(error).__name__}: {error}")
        if plant is not None:
            grade = await _grade(plant, outcome, telemetry, errors)
        if grade is not None and outcome is not None:
            status = "passed" if grade.passed else "failed"
        telemetry.record_run(status, time.perf_counter() - clock)
    wall_seconds = time.perf_counter() - clock
    trace = _read_trace(telemetry, errors)
    retries = services.retries.count(spec.run_id)
    services.retries.forget(spec.run_id)
    llm_errors = _llm_errors(trace)
    return RunResult(
        run_id=spec.run_id,
        framework=spec.framework,
        framework_version=framework_version,
        scenario=spec.scenario,
        model=spec.model,
        repeat=spec.repeat,
        seed=seed,
        status=status,
        score=grade.score if grade else 0.0,
        grades=[CheckGrade(name=c.name, passed=c.passed, detail=c.detail) for c in grade.checks]
        if grade
        else [],
        root_cause=outcome.root_cause if outcome else None,
        device=outcome.device if outcome else None,
        escalated=outcome.escalated if outcome else False,
        actions=recorder.actions,
        llm_calls=trace.llm_calls if trace else 0,
        input_tokens=trace.input_tokens if trace else 0,
        output_tokens=trace.output_tokens if trace else 0,
        tool_calls=recorder.tool_calls,
        safety_violations=recorder.safety_violations,
        retries=retries,
        llm_errors=len(llm_errors),
        errors=[*llm_errors, *errors],
        wall_seconds=round(wall_seconds, 6),
        llm_seconds=round(trace.llm_seconds, 6) if trace else 0.0,
        trace_id=trace_id,
        trace_file=str(telemetry.trace_file) if telemetry.trace_file else None,
        final_report=outcome.final_report if outcome else "",
        started_at=started_at,
    )


async def _grade(
    plant: Plant, outcome: Outcome | None, telemetry: Telemetry, errors: list[str]
) -> Grade | None:
    try:
        grade = await plant.grade(outcome.final_report if outcome else "")
    except Exception as error:
        logger.exception("grading failed", run_id=plant.run_id)
        errors.append(f"grading failed: {type(error).__name__}: {error}")
        return None
    for check in grade.checks:
        telemetry.evaluation(
            check.name,
            score=1.0 if check.passed else 0.0,
            label="pass" if check.passed else "fail",
            explanation=check.detail,
        )
    return grade


def _read_trace(telemetry: Telemetry, errors: list[str]) -> RunTrace | None:
    if telemetry.trace_file is None:
        return None
    try:
        return normalise(read_trace_file(telemetry.trace_file), telemetry.run_id)
    except Exception as error:
        logger.exception("could not read the run's trace file", run_id=telemetry.run_id)
        errors.append(f"trace file unreadable: {type(error).__name__}: {error}")
        return None


def _llm_errors(trace: RunTrace | None) -> list[str]:
    if trace is None:
        return []
    return [
        f"{step.role} {step.name}: {step.error}"
        for step in trace.steps()
        if step.error and step.kind == "llm"
    ]


async def run_matrix(
    specs: Iterable[RunSpec],
    services: RunServices,
    *,
    concurrency: int = 4,
    on_start: Callable[[RunSpec], None] | None = None,
    on_result: Callable[[RunResult], Awaitable[None] | None] | None = None,
) -> list[RunResult]:
    """Run every spec, at most ``concurrency`` at a time; results in completion order.

    Cancelling (Ctrl-C) stops the runs under way; ``on_result`` has already seen every finished
    one, so a caller that writes results there keeps them.
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))
    results: list[RunResult] = []

    async def one(spec: RunSpec) -> None:
        async with semaphore:
            if on_start is not None:
                on_start(spec)
            result = await execute_run(spec, services)
        results.append(result)
        if on_result is not None:
            maybe = on_result(result)
            if maybe is not None:
                await maybe

    tasks = [asyncio.create_task(one(spec), name=spec.run_id) for spec in specs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
    return results
