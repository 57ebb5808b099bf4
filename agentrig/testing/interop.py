"""The checks of the interop suite: what a comparison against a real model server must show.

``make interop`` (``interop/run_interop.py``) records every installed adapter on two scenarios
against a real OpenAI-compatible server (llama.cpp's, via llama-cpp-python, serving
SmolLM2-135M-Instruct) and hands the comparison folder to :func:`check_comparison`; the replay
tests in ``tests/interop/`` hand it the folder of a replay of the committed cassettes. Either way
a cell must end

- passed or failed, or errored with a category and a one-line reason; an ``interop`` reason
  names the field the two sides disagree on (the framework's request or the server's reply);
- with the tokens the server itself reported (``usage`` in its replies, as recorded in the run's
  cassette) in the results' token columns;
- with spans and metrics that carry the model name the run asked for, and the name the server
  answered with;

and the HTML report must render. Standard library and agentrig only: no model server needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentrig.core.contract.results import RunResult, read_results
from agentrig.core.llm.cassettes.settings import cassette_path
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.core.telemetry.semconv import GEN_AI_REQUEST_MODEL, GEN_AI_RESPONSE_MODEL

__all__ = [
    "INTEROP_SCENARIOS",
    "CellSummary",
    "check_comparison",
    "markdown_table",
    "recorded_usage",
    "summarise",
]

INTEROP_SCENARIOS: tuple[str, ...] = ("breaker-trip-cooling-pump", "closed-discharge-valve")

# An interop reason names the field in backticks (failures.py writes it so), e.g. `function_call`.
_FIELD = re.compile(r"`[A-Za-z_][A-Za-z0-9_.\[\]]*(: [a-z]+)?`")


@dataclass(frozen=True, slots=True)
class CellSummary:
    """One framework's measured result over the interop scenarios, for the table."""

    framework: str
    version: str
    statuses: str
    llm_calls: int
    input_tokens: int
    output_tokens: int
    wall_seconds: float
    reasons: tuple[str, ...]


def recorded_usage(cassette: Path) -> tuple[int, int, int]:
    """(replies, prompt tokens, completion tokens) the server reported in a cassette's replies.

    Only successful JSON replies count: an HTTP error carries no usage.
    """
    document = yaml.safe_load(cassette.read_text(encoding="utf-8")) or {}
    replies = prompt = completion = 0
    for interaction in document.get("interactions") or ():
        response = interaction.get("response") or {}
        if (response.get("status") or {}).get("code") != 200:
            continue
        body = (response.get("body") or {}).get("json") or {}
        usage = body.get("usage") or {}
        replies += 1
        prompt += int(usage.get("prompt_tokens") or 0)
        completion += int(usage.get("completion_tokens") or 0)
    return replies, prompt, completion


def _cell_problems(result: RunResult) -> list[str]:
    cell = f"{result.framework} x {result.scenario}"
    if result.status in ("passed", "failed"):
        return []
    problems: list[str] = []
    detail = result.error_detail or ""
    if result.error_category is None:
        problems.append(f"{cell}: errored without an error_category")
    if not detail.strip() or "\n" in detail:
        problems.append(f"{cell}: the error reason is not one line: {detail[:200]!r}")
    if result.error_category == "interop" and not _FIELD.search(detail):
        problems.append(f"{cell}: the interop reason names no field in backticks: {detail!r}")
    if result.error_category == "model_fault" and result.fault in ("unreachable", "timeout"):
        # The server died or hung (a crash in llama.cpp, say): nothing about interop was learnt.
        problems.append(
            f"{cell}: the server stopped answering ({result.fault}); see its log: {detail}"
        )
    return problems


def _usage_problems(result: RunResult, cassettes: Path) -> list[str]:
    cell = f"{result.framework} x {result.scenario}"
    path = cassette_path(cassettes, result.model, result.framework, result.scenario, result.repeat)
    if not path.is_file():
        return [f"{cell}: no cassette at {path}"]
    _, prompt, completion = recorded_usage(path)
    if (result.input_tokens, result.output_tokens) != (prompt, completion):
        return [
            f"{cell}: tokens {result.input_tokens}+{result.output_tokens} in the results, but "
            f"the server reported {prompt}+{completion} (usage in {path.name})"
        ]
    return []


def _span_problems(result: RunResult, folder: Path, model: str, served: str | None) -> list[str]:
    cell = f"{result.framework} x {result.scenario}"
    if not result.trace_file:
        return [f"{cell}: no trace file"]
    # The recorded path is relative to where the comparison ran: find it inside the folder.
    trace = Path(result.trace_file)
    spans = read_trace_file(folder / trace.parent.name / trace.name)
    chats = [span for span in spans if GEN_AI_REQUEST_MODEL in span.attributes]
    if result.llm_calls and not chats:
        return [f"{cell}: {result.llm_calls} LLM calls but no span names the model"]
    problems: list[str] = []
    requested = {str(span.attributes[GEN_AI_REQUEST_MODEL]) for span in chats}
    if requested - {model}:
        problems.append(f"{cell}: spans ask for {sorted(requested)}, not {model!r}")
    answered = {
        str(span.attributes[GEN_AI_RESPONSE_MODEL])
        for span in chats
        if span.attributes.get(GEN_AI_RESPONSE_MODEL)
    }
    if served is not None and answered - {served}:
        problems.append(
            f"{cell}: spans say the server answered as {sorted(answered)}, not {served!r}"
        )
    return problems


def check_comparison(
    folder: Path, cassettes: Path, *, model: str, served_model: str | None = None
) -> list[str]:
    """Everything the interop suite requires of a comparison folder; empty when all holds.

    Args:
        folder: the ``--out`` folder of ``agentrig record`` or ``agentrig compare``.
        cassettes: the cassette folder those runs recorded into (or replayed from).
        model: the model name in the ``--model`` spec (what the runs asked the server for).
        served_model: the model name the server answers with, when known.
    """
    results = read_results(folder)
    problems: list[str] = []
    for result in results:
        problems += _cell_problems(result)
        problems += _usage_problems(result, cassettes)
        problems += _span_problems(result, folder, model, served_model)
    metrics = folder / "metrics.prom"
    text = metrics.read_text(encoding="utf-8") if metrics.is_file() else ""
    for framework in sorted({r.framework for r in results if r.llm_calls}):
        label = f'framework="{framework}",'
        if not any(
            label in line and f'gen_ai_request_model="{model}"' in line
            for line in text.splitlines()
        ):
            problems.append(
                f"{framework}: metrics.prom has no series with gen_ai_request_model={model!r}"
            )
    report = folder / "report.html"
    html = report.read_text(encoding="utf-8") if report.is_file() else ""
    missing = [r.framework for r in results if r.framework not in html]
    if not html or missing:
        problems.append(f"report.html is missing or does not show {sorted(set(missing))}")
    return problems


def summarise(results: Iterable[RunResult]) -> list[CellSummary]:
    """Per framework: statuses, and the sums of LLM calls, tokens and wall time, in run order."""
    by_framework: dict[str, list[RunResult]] = {}
    for result in results:
        by_framework.setdefault(result.framework, []).append(result)
    summaries = []
    for framework, runs in by_framework.items():
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        reasons = tuple(
            dict.fromkeys(
                f"{run.error_category}: {run.error_detail}" for run in runs if run.status == "error"
            )
        )
        summaries.append(
            CellSummary(
                framework=framework,
                version=runs[0].framework_version,
                statuses=", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
                llm_calls=sum(run.llm_calls for run in runs),
                input_tokens=sum(run.input_tokens for run in runs),
                output_tokens=sum(run.output_tokens for run in runs),
                wall_seconds=sum(run.wall_seconds for run in runs),
                reasons=reasons,
            )
        )
    return summaries


def markdown_table(
    summaries: Sequence[CellSummary], timings: Mapping[str, Any] | None = None
) -> str:
    """The measured compatibility table (and the timings) as Markdown."""
    lines = [
        "| framework | version | runs | LLM calls | tokens in+out | wall (s) | reason for each error |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for cell in summaries:
        reason = "<br>".join(cell.reasons).replace("|", "\\|") or "-"
        lines.append(
            f"| {cell.framework} | {cell.version} | {cell.statuses} | {cell.llm_calls} | "
            f"{cell.input_tokens}+{cell.output_tokens} | {cell.wall_seconds:.1f} | {reason} |"
        )
    if timings:
        lines.append("")
    lines += [f"- {name}: {value}" for name, value in (timings or {}).items()]
    return "\n".join(lines) + "\n"
