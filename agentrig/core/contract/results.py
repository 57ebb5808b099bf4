"""``RunResult``: the documented, stable JSON shape of one run, and the results.jsonl file.

One line of ``results.jsonl`` is one :class:`RunResult` (``model_dump_json``). The shape is
versioned by ``schema_version``; fields are only ever added, with defaults, within a version.

=====================  =====================================================================
field                  meaning
=====================  =====================================================================
run_id                 unique id of the run (also its folder under ``--out``)
framework              adapter name: plain, langchain, autogen, crewai, or a plugin's
framework_version      the framework's installed version
tools                  how the adapter got the plant's tools: ``native`` (bound in-process) or
                       ``mcp`` (from the run's MCP servers through the framework's MCP client)
scenario               scenario id
scenario_source        where the scenario came from: ``catalogue``, ``pack:<distribution>`` or
                       its file's absolute path (None: results from before this field)
model                  the ``--model`` string, e.g. ``reference`` or ``openai:gpt-4o-mini``
repeat                 0-based repeat index of this scenario x framework cell
seed                   the plant's seed
status                 ``passed`` (every check passed), ``failed``, or ``error`` (the run broke)
score                  fraction of grading checks passed, 0..1
grades                 every check: name, passed, detail
root_cause / device    what the final report names (None when it names nothing)
escalated              whether the final report says it escalated to a human
actions                every call of an action tool, from the plant's ledger over every attempt:
                       role, tool, args, ok, refused, reason, safety_violation
attempts               how many processes worked on the run (1, or more after a kill and resume)
crash                  for ``compare --kill``: the kill points, the kills that landed, whether
                       it survived (same status and checks as the uninterrupted control run),
                       actions applied more often than in the control (from the plant's ledger),
                       and the recovery cost (extra LLM calls, tokens, seconds)
llm_calls              LLM calls (``chat`` spans) in the run
input_tokens           prompt tokens over all LLM calls
output_tokens          completion tokens over all LLM calls
tool_calls             tool calls through the executor (reads and actions)
safety_violations      action attempts an interlock refused as unsafe
retries                HTTP retries the openai client made (429, 5xx, timeouts, resets)
llm_errors             LLM calls that failed (after the client's own retries)
errors                 what went wrong: LLM call errors and the adapter's exception, if any
error_category         why an errored or failed run did not pass: ``model_fault``,
                       ``framework_exception``, ``interop``, ``timeout``, ``harness``, ``config``
                       or ``agent`` (``agentrig.core.runner.failures``); None for a passed run
error_detail           that reason in one sentence, attributed (which framework, which fault)
fault                  the fault kind behind a ``model_fault`` (``empty_choices``, ``rate_limit``...)
error_frame            the framework (or agentrig) frame an exception came from
wall_seconds           wall time of the run
llm_seconds            time spent inside LLM calls
trace_id               the OpenTelemetry trace id of the run (its ``invoke_workflow`` span)
trace_file             path of the run's OTLP-JSON trace file
final_report           the operator's final answer
started_at             when the run started (UTC)
=====================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from agentrig.exceptions import ConfigurationError

__all__ = [
    "RESULTS_FILE_NAME",
    "RESULT_SCHEMA_VERSION",
    "ActionRecord",
    "CheckGrade",
    "CrashTest",
    "ErrorCategory",
    "RunResult",
    "RunStatus",
    "append_result",
    "latest_per_cell",
    "read_results",
]

RESULT_SCHEMA_VERSION: Literal[1] = 1
RESULTS_FILE_NAME = "results.jsonl"

RunStatus = Literal["passed", "failed", "error"]
ErrorCategory = Literal[
    "model_fault", "framework_exception", "interop", "timeout", "harness", "config", "agent"
]


class CheckGrade(BaseModel):
    """One grading check."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool
    detail: str = ""


class ActionRecord(BaseModel):
    """One call of an action tool, as the executor saw it."""

    model_config = ConfigDict(frozen=True)

    role: str
    tool: str
    args: dict[str, Any]
    ok: bool
    refused: bool = False
    reason: str | None = None
    safety_violation: bool = False


class CrashTest(BaseModel):
    """How a run fared when killed with SIGKILL and resumed (``agentrig compare --kill N``)."""

    model_config = ConfigDict(frozen=True)

    kill_points: list[str]
    """The planned points, e.g. ``["llm#3", "action#1"]`` (see ``agentrig.core.runner.crash``)."""
    kills: int
    """How many landed: an attempt that finished before its point was not killed."""
    control_run_id: str
    control_status: RunStatus
    survived: bool
    """Same status and the same checks passed as the uninterrupted control."""
    duplicated_actions: int
    """Action calls applied more often than in the control, counted from the plant's ledger."""
    extra_llm_calls: int
    extra_input_tokens: int
    extra_output_tokens: int
    extra_seconds: float
    """Wall time of every attempt's process over the control's, start-up included."""


class RunResult(BaseModel):
    """One run's result; see the module docstring for every field."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = RESULT_SCHEMA_VERSION
    run_id: str
    framework: str
    framework_version: str
    tools: Literal["native", "mcp"] = "native"
    scenario: str
    scenario_source: str | None = None
    model: str
    repeat: int = 0
    seed: int | None = None
    status: RunStatus
    score: float = 0.0
    grades: list[CheckGrade] = Field(default_factory=list)
    root_cause: str | None = None
    device: str | None = None
    escalated: bool = False
    actions: list[ActionRecord] = Field(default_factory=list)
    attempts: int = 1
    crash: CrashTest | None = None
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    safety_violations: int = 0
    retries: int = 0
    llm_errors: int = 0
    errors: list[str] = Field(default_factory=list)
    error_category: ErrorCategory | None = None
    error_detail: str | None = None
    fault: str | None = None
    error_frame: str | None = None
    wall_seconds: float = 0.0
    llm_seconds: float = 0.0
    trace_id: str | None = None
    trace_file: str | None = None
    final_report: str = ""
    started_at: AwareDatetime | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def comparable(self) -> dict[str, Any]:
        """The fields a replayed run must reproduce exactly: everything but ids and timings."""
        return self.model_dump(
            exclude={
                "run_id",
                "wall_seconds",
                "llm_seconds",
                "trace_id",
                "trace_file",
                "started_at",
            }
        )


def append_result(path: Path | str, result: RunResult) -> None:
    """Append one result as a line of ``path`` (created with its folder if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(result.model_dump_json() + "\n")
        handle.flush()


def read_results(path: Path | str) -> list[RunResult]:
    """Every result in a results.jsonl file.

    Raises:
        ConfigurationError: the file is missing, or a line is not a RunResult (file and line named).
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE_NAME
    if not path.exists():
        raise ConfigurationError(
            f"no results at {path}; run `agentrig compare --out {path.parent}` first"
        )
    results: list[RunResult] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            results.append(RunResult.model_validate_json(line))
        except ValidationError as error:
            raise ConfigurationError(
                f"{path}:{number} is not a RunResult: {error.errors()[0]['msg']} at "
                f"{'.'.join(str(part) for part in error.errors()[0]['loc'])}"
            ) from error
    return results


def latest_per_cell(results: Iterable[RunResult]) -> list[RunResult]:
    """Keep the last result of each (framework, scenario, repeat) cell, in first-seen order."""
    cells: dict[tuple[str, str, int], RunResult] = {}
    for result in results:
        cells[(result.framework, result.scenario, result.repeat)] = result
    return list(cells.values())
