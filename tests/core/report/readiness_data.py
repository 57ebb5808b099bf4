"""Hand-made results with error categories and crash records, for the readiness tests.

plain: 2 passed. langchain: 3 errored on injected empty ``choices`` + 1 passed. autogen: one
timeout, one rate-limit model fault, one graded failure, one passed. crewai: one failed run with
no category (a results file from before categories) + 1 passed. Killed runs: plain 2
(one survived), langchain 1 (survived).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from agentrig.core.contract.results import CrashTest, RunResult, RunStatus
from tests.core.report.factories import result

# A detail with markup in it: it comes from an exception message, which is untrusted.
EMPTY_CHOICES = (
    "LangChain failed with IndexError at langchain_core/outputs.py:12 (list index out of range) "
    "on an empty `choices` list injected by the model: <b>the framework</b> does not recover & "
    "stops"
)
RATE_LIMIT = "AutoGen gave up after HTTP 429 rate limits injected by the model (3 retries)"
TIMEOUT = "AutoGen did not finish within --timeout 30 s"
AGENT = "the run finished and the grader failed it: fault_resolved"


def _run(framework: str, index: int, status: RunStatus, **fields: Any) -> RunResult:
    return result(framework, "blocked-discharge", index, status, **fields)


def categorised_results() -> list[RunResult]:
    model_fault = {"error_category": "model_fault", "fault": "empty_choices"}
    return [
        _run("plain", 0, "passed"),
        _run("plain", 1, "passed"),
        _run("langchain", 0, "error", error_detail=EMPTY_CHOICES, **model_fault),
        _run("langchain", 1, "passed"),
        _run("langchain", 2, "error", error_detail=EMPTY_CHOICES + " (again)", **model_fault),
        _run("langchain", 3, "error", error_detail=EMPTY_CHOICES + " (third)", **model_fault),
        _run("autogen", 0, "error", error_category="timeout", error_detail=TIMEOUT),
        _run(
            "autogen",
            1,
            "error",
            error_category="model_fault",
            fault="rate_limit",
            error_detail=RATE_LIMIT,
            retries=3,
        ),
        _run("autogen", 2, "failed", error_category="agent", error_detail=AGENT),
        _run("autogen", 3, "passed", retries=2),
        _run("crewai", 0, "failed"),  # no category, no errors: its failed checks explain it
        _run("crewai", 1, "passed"),
    ]


def _crash(
    kills: int,
    survived: bool,
    duplicated: int,
    calls: int,
    tokens: tuple[int, int],
    seconds: float,
) -> CrashTest:
    return CrashTest(
        kill_points=["llm#3", "action#1"][:kills],
        kills=kills,
        control_run_id="control",
        control_status="passed",
        survived=survived,
        duplicated_actions=duplicated,
        extra_llm_calls=calls,
        extra_input_tokens=tokens[0],
        extra_output_tokens=tokens[1],
        extra_seconds=seconds,
    )


def crash_results() -> list[RunResult]:
    return [
        _run("plain", 0, "passed", attempts=2, crash=_crash(1, True, 0, 2, (1000, 50), 1.5)),
        _run(
            "plain",
            1,
            "failed",
            attempts=3,
            error_category="agent",
            error_detail="the resumed run opened the valve twice",
            crash=_crash(2, False, 1, 4, (2000, 100), 2.5),
        ),
        _run("langchain", 0, "passed", attempts=2, crash=_crash(1, True, 0, 1, (500, 20), 0.5)),
    ]


def table_cells(table: Table) -> tuple[str, list[list[str]]]:
    """The title line and every row's cells, as the terminal shows them."""
    console = Console(record=True, width=200)
    console.print(table)
    lines = console.export_text().splitlines()
    rows = [
        [cell.strip() for cell in line.replace("┃", "│").strip("│ ").split("│")]
        for line in lines
        if line.startswith(("│", "┃"))  # the header row, then the body rows
    ]
    return lines[0].strip(), rows
