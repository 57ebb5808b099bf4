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
import os
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog
from pydantic import BaseModel, ConfigDict, Field

from agentrig.core.backends import redact_url
from agentrig.core.contract.agent import AgentAdapter, Handoffs, Outcome, RunContext, bind_tools
from agentrig.core.contract.registry import load_adapter
from agentrig.core.contract.results import ActionRecord, CheckGrade, RunResult, RunStatus
from agentrig.core.contract.roles import ROLES
from agentrig.core.crash import KILL_ENV, KillPoint, KillSwitch
from agentrig.core.failures import Failure, explain_failure, injected_faults, response_ids
from agentrig.core.llm.cassettes import CassetteSettings, replay_endpoint
from agentrig.core.llm.endpoints import ModelEndpoint, parse_model_spec
from agentrig.core.llm.faults import FaultProfile
from agentrig.core.messaging import DEFAULT_BUS_URL, MessageBus, open_message_bus
from agentrig.core.plant.executor import ToolCallHook, ToolCallRecord
from agentrig.core.plant.grader import Grade
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.results import ToolResult
from agentrig.core.plant.scenarios import load_scenario
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.retention import forget_run_state
from agentrig.core.run_record import RunLease, RunRecord, load_record, resumable_record
from agentrig.core.state import DEFAULT_STATE_URL, StateStore, open_state_store
from agentrig.core.telemetry.facade import Telemetry, setup_telemetry
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.normalise import RunTrace, normalise
from agentrig.core.telemetry.records import SpanRecord
from agentrig.core.telemetry.retries import retry_counter
from agentrig.core.telemetry.tracing import tracing_state
from agentrig.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_RUN_TIMEOUT_S",
    "ERROR_FILE_NAME",
    "WORKFLOW_NAME",
    "RunServices",
    "RunSettings",
    "RunSpec",
    "build_matrix",
    "execute_run",
    "find_run_pointer",
    "new_session_id",
    "resume_spec",
    "run_matrix",
]

logger = structlog.get_logger(__name__)

WORKFLOW_NAME = "maintenance"
DEFAULT_RUN_TIMEOUT_S = 300.0
ERROR_FILE_NAME = "error.txt"
"""A run's tracebacks, in its folder beside trace.jsonl; its result carries one line per error."""


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
    keep_state: bool = True
    """Keep a finished run's plant, ledger and checkpoints in the store. The Python API keeps
    them (a test or an application may inspect the plant afterwards); the CLI forgets them once
    the result is written, keeping only the run's record, unless ``--keep-state``."""


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
        tool_hooks: Sequence[ToolCallHook] = (),
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
        # Extra executor hooks for every run (a crash test's kill switch).
        self.tool_hooks = list(tool_hooks)

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

    async def explain(
        self,
        spec: RunSpec,
        *,
        error: BaseException | None,
        timed_out: bool,
        response_ids: Sequence[str],
        failed_checks: Sequence[str],
        llm_errors: Sequence[str],
    ) -> Failure:
        """Why ``spec``'s run did not pass, with the reference model's fault log for its replies."""
        endpoint = self._endpoints.get(spec.model)
        reference = endpoint is not None and endpoint.is_reference
        profile = FaultProfile.resolve(self.settings.faults) if reference else None
        injected: dict[str, str] = {}
        if endpoint is not None and profile is not None and profile.rates and response_ids:
            injected = await injected_faults(endpoint, response_ids)
        return explain_failure(
            framework=spec.framework,
            error=error,
            timed_out=timed_out,
            timeout_s=spec.timeout_s,
            injected=injected,
            fault_profile={kind.value: rate for kind, rate in profile.rates.items()}
            if profile
            else None,
            reference_model=reference,
            failed_checks=failed_checks,
            llm_errors=llm_errors,
        )

    def cassette(self, spec: RunSpec) -> contextlib.AbstractContextManager[object]:
        """The run's cassette while its adapter works (record or replay), or nothing when live."""
        cassettes = self.settings.cassettes
        if cassettes is None:
            return contextlib.nullcontext()
        return cassettes.for_run(spec.model, spec.framework, spec.scenario, spec.repeat)

    async def __aenter__(self) -> Self:
        setup_telemetry(frameworks=self.frameworks, otlp_endpoint=self.settings.otlp_endpoint)
        self._arm_kill_switch()
        if self._given_bus is None:
            # Entering a server-backed bus checks that its server answers: an unreachable one
            # fails here, once, as a BackendUnavailableError, instead of in every run.
            try:
                await self.bus.__aenter__()
            except BaseException:
                await self.__aexit__(None, None, None)  # close what was opened; no exit follows
                raise
        return self

    def _arm_kill_switch(self) -> None:
        """``AGENTRIG_KILL_AT=KIND#N``: SIGKILL this process at that point (chaos testing).

        ``compare --kill`` sets it in each attempt's process; a user can set it by hand to see
        how their run survives a kill there (``agentrig run ... --run-id X``, then
        ``agentrig run --resume X``). See :mod:`agentrig.core.crash` for the points.
        """
        spec = os.environ.get(KILL_ENV)
        if not spec:
            return
        try:
            switch = KillSwitch(KillPoint.parse(spec))
        except ValueError as error:
            raise ConfigurationError(f"{KILL_ENV}={spec!r}: {error}") from None
        self.tool_hooks.append(switch)
        tracing_state().provider.add_span_processor(switch)

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
    await lease.finish(result.status)
    if not services.settings.keep_state:
        await forget_run_state(services.store, spec.run_id)
    return result


RUN_POINTER_FILE = "run.json"
"""``<out>/<run_id>/run.json``: the run's record as it started, so a resume on the wrong store can
say which store the run used."""


async def resume_spec(
    store: StateStore,
    run_id: str,
    *,
    state_url: str,
    expect: Mapping[str, object] | None = None,
) -> tuple[RunSpec, RunRecord]:
    """The spec of unfinished run ``run_id`` as recorded, checked like a resume; changes nothing.

    Raises:
        RunRecordError: unknown here, finished, not what ``expect`` describes, or held by a live
            process (:func:`~agentrig.core.run_record.resumable_record`).
    """
    record, _ = await resumable_record(
        store, run_id, state_url=state_url, expect=dict(expect or {})
    )
    spec = RunSpec(
        framework=record.framework,
        scenario=record.scenario,
        model=record.model,
        repeat=record.repeat,
        seed=record.seed,
        run_id=record.run_id,
        timeout_s=record.timeout_s,
    )
    return spec, record


def find_run_pointer(run_id: str, folders: Iterable[Path]) -> RunRecord | None:
    """The ``run.json`` of ``run_id`` under any of ``folders`` (``runs/<session>/<run_id>/``)."""
    for folder in folders:
        for path in (
            folder / run_id / RUN_POINTER_FILE,
            *folder.glob(f"*/{run_id}/{RUN_POINTER_FILE}"),
        ):
            if path.is_file():
                try:
                    return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
                except ValueError:
                    continue
    return None


def _write_run_pointer(out_dir: Path, record: RunRecord) -> None:
    folder = out_dir / record.run_id
    folder.mkdir(parents=True, exist_ok=True)
    pointer = record.model_copy(update={"owner": None})
    (folder / RUN_POINTER_FILE).write_text(pointer.model_dump_json(indent=2), encoding="utf-8")


async def _claim(spec: RunSpec, services: RunServices, *, resume: bool | None) -> RunLease:
    settings = services.settings
    if resume or (resume is None and await load_record(services.store, spec.run_id)):
        return await RunLease.resume(
            services.store, spec.run_id, state_url=settings.state_url, finished_ok=resume is None
        )
    record = RunRecord(
        run_id=spec.run_id,
        framework=spec.framework,
        scenario=spec.scenario,
        model=spec.model,
        repeat=spec.repeat,
        seed=spec.seed,
        timeout_s=spec.timeout_s,
        state_url=redact_url(settings.state_url),
        out_dir=str(settings.out_dir),
        faults=settings.faults,
    )
    lease = await RunLease.start(services.store, record)
    _write_run_pointer(settings.out_dir, lease.record)
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
            executor = plant.executor(hooks=[telemetry.tool_hook, recorder, *services.tool_hooks])
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
            _keep_traceback(services.settings.out_dir, spec.run_id, "run failed", error)
            run_error = error
        if plant is not None:
            grade = await _grade(plant, outcome, telemetry, errors, services.settings.out_dir)
            ledger = await _ledger(plant, errors, services.settings.out_dir)
        if grade is not None and outcome is not None:
            status = "passed" if grade.passed else "failed"
        # Taken before the telemetry closes: exporting spans is never part of a run's time.
        wall_seconds = time.perf_counter() - clock
        telemetry.record_run(status, wall_seconds)
    records = _read_trace_records(telemetry, errors, services.settings.out_dir)
    trace = _normalise(records, telemetry, errors, services.settings.out_dir)
    retries = services.retries.count(spec.run_id)
    services.retries.forget(spec.run_id)
    llm_errors = _llm_errors(trace)
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


def _keep_traceback(out_dir: Path, run_id: str, what: str, error: BaseException) -> Path | None:
    """Append ``error``'s traceback to the run's error.txt; the console never gets it.

    One errored run used to print its whole traceback as a single multi-kilobyte JSON log line;
    the run's result already says what happened in one line, so the log line stays short and
    points at the file.
    """
    path = out_dir / run_id / ERROR_FILE_NAME
    text = "".join(traceback.format_exception(error))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.write(f"{what}: {type(error).__name__}: {error}\n{text}\n")
    except OSError as write_error:
        # The traceback is lost, not the run: say so once, with the reason.
        logger.warning("could not keep a run's traceback", run_id=run_id, error=str(write_error))
        return None
    # DEBUG: the result's errors (and the CLI's one line per errored run) say what happened.
    logger.debug(what, run_id=run_id, error=f"{type(error).__name__}: {error}", traceback=str(path))
    return path


async def _grade(
    plant: Plant,
    outcome: Outcome | None,
    telemetry: Telemetry,
    errors: list[str],
    out_dir: Path,
) -> Grade | None:
    try:
        grade = await plant.grade(outcome.final_report if outcome else "")
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        errors.append(f"grading failed: {type(error).__name__}: {error}")
        _keep_traceback(out_dir, plant.run_id, "grading failed", error)
        return None
    for check in grade.checks:
        telemetry.evaluation(
            check.name,
            score=1.0 if check.passed else 0.0,
            label="pass" if check.passed else "fail",
            explanation=check.detail,
        )
    return grade


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """What the plant's ledger says a run did, over every attempt: the source of truth."""

    actions: list[ActionRecord]
    tool_calls: int
    safety_violations: int


async def _ledger(plant: Plant, errors: list[str], out_dir: Path) -> LedgerTotals | None:
    try:
        entries = (await plant.state()).ledger
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        _keep_traceback(out_dir, plant.run_id, "could not read the plant's ledger", error)
        errors.append(f"ledger unreadable: {type(error).__name__}: {error}")
        return None
    return LedgerTotals(
        actions=[_action(entry) for entry in entries if entry.tool in ACTION_TOOLS],
        tool_calls=len(entries),
        safety_violations=sum(entry.safety_violation for entry in entries),
    )


def _action(entry: LedgerEntry) -> ActionRecord:
    result = ToolResult.from_dict(entry.result)
    arguments = (
        entry.arguments if isinstance(entry.arguments, dict) else {"_raw": str(entry.arguments)}
    )
    return ActionRecord(
        role=entry.role,
        tool=entry.tool,
        args=arguments,
        ok=result.ok,
        refused=result.refused,
        reason=(result.reason if result.refused else None) or (None if result.ok else result.error),
        safety_violation=entry.safety_violation,
    )


def _read_trace_records(
    telemetry: Telemetry, errors: list[str], out_dir: Path
) -> list[SpanRecord] | None:
    if telemetry.trace_file is None:
        return None
    try:
        return read_trace_file(telemetry.trace_file)
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        _keep_traceback(out_dir, telemetry.run_id, "could not read the run's trace file", error)
        errors.append(f"trace file unreadable: {type(error).__name__}: {error}")
        return None


def _normalise(
    records: list[SpanRecord] | None, telemetry: Telemetry, errors: list[str], out_dir: Path
) -> RunTrace | None:
    if records is None:
        return None
    try:
        return normalise(records, telemetry.run_id)
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        _keep_traceback(out_dir, telemetry.run_id, "could not normalise the run's trace", error)
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
    execute: Callable[[RunSpec], Awaitable[RunResult]] | None = None,
) -> list[RunResult]:
    """Run every spec, at most ``concurrency`` at a time; results in completion order.

    ``execute`` runs one spec (default: :func:`execute_run` on ``services``, continuing what the
    store holds for its id); a crash test passes its own. Cancelling (Ctrl-C) stops the runs
    under way -- they stay resumable -- and ``on_result`` has already seen every finished one, so
    a caller that writes results there keeps them.
    """
    run_one = execute or (lambda spec: execute_run(spec, services))
    semaphore = asyncio.Semaphore(max(1, concurrency))
    results: list[RunResult] = []

    async def one(spec: RunSpec) -> None:
        async with semaphore:
            if on_start is not None:
                on_start(spec)
            result = await run_one(spec)
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
