"""One run -- world, adapter, grading -> :class:`RunResult` (:func:`execute_run`).

A run is a function of its :class:`RunSpec` and the shared :class:`RunServices` (one state store,
one bus, one metrics registry and one model endpoint per process): it creates the scenario's plant
in the store, hands the alarm to the monitor over the bus, lets the adapter work, grades the end
state, and reads its numbers back from its own trace file, so the result and the trace never
disagree. Whatever goes wrong inside a run -- the framework raises, times out or hangs -- becomes
an ``error`` result for that cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

import structlog

from agentrig.core.backends import redact_url
from agentrig.core.contract.agent import AgentAdapter, Handoffs, Outcome, RunContext, bind_tools
from agentrig.core.contract.mcp import McpEndpoint, supports_mcp
from agentrig.core.contract.results import ActionRecord, CheckGrade, RunResult, RunStatus
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.plant.executor import ToolCallRecord, ToolExecutor
from agentrig.core.plant.grader import Grade
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.scenarios import Scenario, load_scenario
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.runner.evidence import (
    LedgerTotals,
    failed_llm_calls,
    grade_run_outcome,
    keep_traceback,
    normalise_trace,
    read_ledger,
    read_trace_records,
)
from agentrig.core.runner.failures import response_ids
from agentrig.core.runner.record import RunLease, RunRecord, load_record
from agentrig.core.runner.resume import write_run_pointer
from agentrig.core.runner.retention import forget_run_state
from agentrig.core.runner.services import RunServices
from agentrig.core.runner.spec import WORKFLOW_NAME, RunSpec
from agentrig.core.telemetry.facade import Telemetry
from agentrig.exceptions import ConfigurationError

__all__ = [
    "execute_run",
]

logger = structlog.get_logger(__name__)


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


async def _release_inboxes(handoffs: Handoffs, errors: list[str]) -> None:
    """Delete the run's inboxes from the bus; a failure is recorded with the run, never raised
    over the run's own outcome or error."""
    try:
        await handoffs.release()
    # Blind on purpose: a cleanup failure of whatever kind (the bus's client may raise its own errors) must
    # not replace the run's result; it is logged and recorded with the run instead.
    except Exception as error:  # noqa: BLE001
        logger.warning("could not release the run's bus inboxes", error=str(error))
        errors.append(f"releasing the run's bus inboxes failed: {type(error).__name__}: {error}")


@contextlib.asynccontextmanager
async def _tool_servers(
    spec: RunSpec, adapter: AgentAdapter, executor: ToolExecutor, telemetry: Telemetry
) -> AsyncIterator[Mapping[Role, McpEndpoint] | None]:
    """With ``tools="mcp"``: the run's MCP servers (one per role, on this event loop), else None.

    Raises:
        ConfigurationError: the adapter does not take its tools over MCP.
    """
    if spec.tools == "native":
        yield None
        return
    if not supports_mcp(adapter):
        raise ConfigurationError(
            f"the {spec.framework} adapter does not take its tools over MCP (it sets no "
            "supports_mcp = True, see docs/mcp.md); run it with --tools native"
        )
    from agentrig.core.mcp.http import PlantMcpHttpServer
    from agentrig.core.mcp.server import PlantToolService

    async with PlantMcpHttpServer(PlantToolService(executor, telemetry)) as server:
        yield server.endpoints()


async def execute_run(
    spec: RunSpec, services: RunServices, *, resume: bool | None = None
) -> RunResult:
    """Run one spec to a :class:`RunResult`.

    ``resume``: None (the default) runs ``spec.run_id`` whatever the store holds for it -- a new
    run, or the continuation of one that was cut off (or even finished); False insists on a new
    run (the CLI's ``run``); True insists on resuming an unfinished one (``run --resume``).

    Never raises for what happens inside the run (that becomes an ``error`` result), except when
    cancelled. Raises :class:`~agentrig.exceptions.RunRecordError` before anything runs when the
    run cannot be claimed: the id is taken (``resume=False``), the run is unknown or finished
    (``resume=True``), or a live process holds it.
    """
    lease = await _claim(spec, services, resume=resume)
    try:
        result = await _attempt(spec, services, lease)
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(lease.release())
        raise
    try:
        await lease.finish(result.status)
        if not services.settings.keep_state:
            await forget_run_state(services.store, spec.run_id)
    except Exception as error:  # noqa: BLE001 -- the result stands; the store is told in a line
        # The run is graded; a store that fails now costs its tidying, never the result.
        logger.warning("could not close the run's record", run_id=spec.run_id, error=str(error))
        result = result.model_copy(
            update={"errors": [*result.errors, f"closing the run record failed: {error}"]}
        )
    return result


async def _claim(spec: RunSpec, services: RunServices, *, resume: bool | None) -> RunLease:
    settings = services.settings
    if resume or (resume is None and await load_record(services.store, spec.run_id)):
        return await RunLease.resume(
            services.store,
            spec.run_id,
            state_url=settings.state_url,
            finished_ok=resume is None,
            lease_seconds=settings.lease_seconds,
        )
    record = RunRecord(
        run_id=spec.run_id,
        framework=spec.framework,
        scenario=spec.scenario,
        scenario_source=spec.scenario_source,
        model=spec.model,
        repeat=spec.repeat,
        seed=spec.seed,
        timeout_s=spec.timeout_s,
        state_url=redact_url(settings.state_url),
        out_dir=str(settings.out_dir),
        faults=settings.faults,
        tools=spec.tools,
    )
    lease = await RunLease.start(services.store, record, lease_seconds=settings.lease_seconds)
    write_run_pointer(settings.out_dir, lease.record)
    return lease


async def _attempt(spec: RunSpec, services: RunServices, lease: RunLease) -> RunResult:
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
    run_error: BaseException | None = None
    timed_out = False
    ledger: LedgerTotals | None = None
    scenario: Scenario | None = None
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
            scenario = load_scenario(spec.scenario, spec.scenario_source)
            seed = scenario.seed + spec.repeat if seed is None else seed
            plant = await Plant.create(services.store, spec.run_id, scenario, seed=seed)
            executor = plant.executor(
                hooks=[telemetry.tool_hook, recorder, *services.tool_hooks],
                commit_hooks=services.commit_hooks,
            )
            handoffs = Handoffs(services.bus, spec.run_id, telemetry)
            try:
                async with _tool_servers(spec, adapter, executor, telemetry) as mcp:
                    ctx = RunContext(
                        run_id=spec.run_id,
                        tools=bind_tools(executor),
                        model=services.endpoint(spec.model),
                        store=services.store,
                        bus=services.bus,
                        telemetry=telemetry,
                        handoffs=handoffs,
                        mcp=mcp,
                    )
                    await handoffs.declare(ROLES)
                    alarm = await handoffs.hand_over(
                        "plant", "monitor", await plant.alarm_text(), type="alarm"
                    )
                    with services.cassette(spec):
                        outcome = await asyncio.wait_for(adapter.run(alarm, ctx), spec.timeout_s)
            finally:
                executor.close()
                await _release_inboxes(handoffs, errors)
        except TimeoutError:
            timed_out = True
            errors.append(f"the {spec.framework} run timed out after {spec.timeout_s:g} s")
        except Exception as error:  # noqa: BLE001 -- becomes the error result; traceback kept
            errors.append(f"{type(error).__name__}: {error}")
            keep_traceback(services.settings.out_dir, spec.run_id, "run failed", error)
            run_error = error
        if plant is not None:
            grade = await grade_run_outcome(
                plant, outcome, telemetry, errors, services.settings.out_dir
            )
            ledger = await read_ledger(plant, errors, services.settings.out_dir)
        if grade is not None and outcome is not None:
            status = "passed" if grade.passed else "failed"
        # Taken before the telemetry closes: exporting spans is never part of a run's time.
        wall_seconds = time.perf_counter() - clock
        telemetry.record_run(status, wall_seconds)
    records = read_trace_records(telemetry, errors, services.settings.out_dir)
    trace = normalise_trace(records, telemetry, errors, services.settings.out_dir)
    retries = services.retries.count(spec.run_id)
    services.retries.forget(spec.run_id)
    llm_errors = failed_llm_calls(trace)
    failure = None
    if status != "passed":
        failure = await services.explain(
            spec,
            error=run_error,
            timed_out=timed_out,
            response_ids=response_ids(records),
            failed_checks=[f"{c.name}: {c.detail}" for c in grade.checks if not c.passed]
            if grade
            else [],
            llm_errors=llm_errors,
        )
    return RunResult(
        run_id=spec.run_id,
        framework=spec.framework,
        framework_version=framework_version,
        tools=spec.tools,
        scenario=spec.scenario,
        scenario_source=spec.scenario_source or (scenario.origin if scenario else None),
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
        actions=ledger.actions if ledger else recorder.actions,
        llm_calls=trace.llm_calls if trace else 0,
        input_tokens=trace.input_tokens if trace else 0,
        output_tokens=trace.output_tokens if trace else 0,
        tool_calls=ledger.tool_calls if ledger else recorder.tool_calls,
        safety_violations=ledger.safety_violations if ledger else recorder.safety_violations,
        attempts=lease.attempt,
        retries=retries,
        llm_errors=len(llm_errors),
        errors=[*llm_errors, *errors],
        error_category=failure.category if failure else None,
        error_detail=failure.detail if failure else None,
        fault=failure.fault if failure else None,
        error_frame=failure.frame if failure else None,
        wall_seconds=round(wall_seconds, 6),
        llm_seconds=round(trace.llm_seconds, 6) if trace else 0.0,
        trace_id=trace_id,
        trace_file=str(telemetry.trace_file) if telemetry.trace_file else None,
        final_report=outcome.final_report if outcome else "",
        started_at=started_at,
    )
