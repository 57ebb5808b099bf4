"""What a finished run leaves to read its numbers from: the ledger, the trace, its tracebacks."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

import structlog

from agentrig.core.contract.agent import Outcome
from agentrig.core.contract.results import ActionRecord
from agentrig.core.plant.grader import Grade
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.results import ToolResult
from agentrig.core.plant.state import LedgerEntry
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.core.runner.spec import ERROR_FILE_NAME
from agentrig.core.telemetry.facade import Telemetry
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.normalise import RunTrace, normalise
from agentrig.core.telemetry.records import SpanRecord

__all__ = [
    "LedgerTotals",
    "failed_llm_calls",
    "grade_run_outcome",
    "keep_traceback",
    "normalise_trace",
    "read_ledger",
    "read_trace_records",
]

logger = structlog.get_logger(__name__)


def keep_traceback(out_dir: Path, run_id: str, what: str, error: BaseException) -> Path | None:
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


async def grade_run_outcome(
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
        keep_traceback(out_dir, plant.run_id, "grading failed", error)
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


async def read_ledger(plant: Plant, errors: list[str], out_dir: Path) -> LedgerTotals | None:
    try:
        entries = await plant.ledger()
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        keep_traceback(out_dir, plant.run_id, "could not read the plant's ledger", error)
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


def read_trace_records(
    telemetry: Telemetry, errors: list[str], out_dir: Path
) -> list[SpanRecord] | None:
    if telemetry.trace_file is None:
        return None
    try:
        return read_trace_file(telemetry.trace_file)
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        keep_traceback(out_dir, telemetry.run_id, "could not read the run's trace file", error)
        errors.append(f"trace file unreadable: {type(error).__name__}: {error}")
        return None


def normalise_trace(
    records: list[SpanRecord] | None, telemetry: Telemetry, errors: list[str], out_dir: Path
) -> RunTrace | None:
    if records is None:
        return None
    try:
        return normalise(records, telemetry.run_id)
    except Exception as error:  # noqa: BLE001 -- becomes an error line; traceback kept
        keep_traceback(out_dir, telemetry.run_id, "could not normalise the run's trace", error)
        errors.append(f"trace file unreadable: {type(error).__name__}: {error}")
        return None


def failed_llm_calls(trace: RunTrace | None) -> list[str]:
    if trace is None:
        return []
    return [
        f"{step.role} {step.name}: {step.error}"
        for step in trace.steps()
        if step.error and step.kind == "llm"
    ]
