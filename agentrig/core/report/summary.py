"""Per-framework summaries of a comparison: the numbers the side-by-side table shows.

Every figure is computed from :class:`~agentrig.core.contract.results.RunResult` lines alone, so a
summary re-rendered from ``results.jsonl`` is the one printed when the comparison ran.

Beside the pass rates, a summary says *why* runs did not pass (``categories``: the runs'
``error_category``, see :mod:`agentrig.core.runner.failures`) and, for ``compare --kill``, how the
framework fared when killed and resumed (the ``crash_*`` figures, from each run's ``crash``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Final, get_args

from pydantic import BaseModel, ConfigDict

from agentrig.core.contract.results import ErrorCategory, RunResult
from agentrig.core.plant.grader import pass_at_k, pass_hat_k

__all__ = [
    "CATEGORY_ORDER",
    "MCP_SUFFIX",
    "UNCATEGORISED",
    "CrashFigures",
    "FailureExample",
    "FrameworkSummary",
    "category_counts",
    "compared_as",
    "crash_figures",
    "failure_examples",
    "labelled",
    "percentile",
    "summarise",
    "with_mcp_names",
]

UNCATEGORISED: Final = "uncategorised"
"""The category of a run that did not pass and carries none (a results.jsonl from before
categories were recorded): counted, never dropped, so the counts add up to the runs."""
CATEGORY_ORDER: Final[tuple[str, ...]] = (*get_args(ErrorCategory), UNCATEGORISED)
"""Categories in the order tables and charts show them."""


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class CrashFigures(BaseModel):
    """Kill-and-resume figures over the runs that carry a ``crash`` record (see
    :class:`FrameworkSummary` for each field)."""

    model_config = ConfigDict(frozen=True)

    crash_runs: int = 0
    kills: int = 0
    survived: int = 0
    duplicated_actions: int = 0
    extra_llm_calls: float = 0.0
    extra_tokens: float = 0.0
    extra_seconds: float = 0.0


class FrameworkSummary(CrashFigures):
    """One framework's row of the comparison.

    Attributes:
        runs / passed / failed / errors: run counts by status.
        pass_rate: passed / runs.
        k: repeats per scenario (the smallest over its scenarios).
        pass_at_k: mean over scenarios of the unbiased pass@k estimator.
        pass_hat_k: mean over scenarios of pass^k (every one of k tries passes).
        safety_violations: interlock-refused unsafe action attempts, summed.
        llm_calls / input_tokens / output_tokens / tool_calls: means per run.
        wall_p50 / wall_p95: wall-time percentiles per run, seconds.
        llm_seconds: mean time inside LLM calls per run.
        retries: HTTP retries of the model client, summed.
        llm_errors: LLM call errors recorded in traces, summed.
        categories: why runs did not pass: error category -> runs, over the runs that did
            not pass, in :data:`CATEGORY_ORDER` (empty when every run passed).
        crash_runs: runs of ``compare --kill`` (with a ``crash`` record); 0 means the crash
            figures below do not apply.
        kills: SIGKILLs that landed, summed over those runs.
        survived: those runs that ended with the control's status and checks.
        duplicated_actions: actions applied more often than in the control, summed.
        extra_llm_calls / extra_tokens / extra_seconds: the recovery cost per crash run (mean)
            over the control: LLM calls, tokens in + out, wall seconds.
    """

    model_config = ConfigDict(frozen=True)

    framework: str
    framework_version: str
    runs: int
    passed: int
    failed: int
    errors: int
    pass_rate: float
    k: int
    pass_at_k: float
    pass_hat_k: float
    safety_violations: int
    llm_calls: float
    input_tokens: float
    output_tokens: float
    tool_calls: float
    wall_p50: float
    wall_p95: float
    llm_seconds: float
    retries: int
    llm_errors: int
    categories: dict[str, int] = {}


def category_counts(results: Iterable[RunResult]) -> dict[str, int]:
    """Error category -> runs, over the runs that did not pass, in :data:`CATEGORY_ORDER`."""
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        if not result.passed:
            counts[result.error_category or UNCATEGORISED] += 1
    return {category: counts[category] for category in CATEGORY_ORDER if counts[category]}


def crash_figures(results: Iterable[RunResult]) -> CrashFigures:
    """Sums and per-run means over the results with a ``crash`` record; all zero without one."""
    crashes = [result.crash for result in results if result.crash is not None]
    if not crashes:
        return CrashFigures()
    return CrashFigures(
        crash_runs=len(crashes),
        kills=sum(crash.kills for crash in crashes),
        survived=sum(crash.survived for crash in crashes),
        duplicated_actions=sum(crash.duplicated_actions for crash in crashes),
        extra_llm_calls=fmean(crash.extra_llm_calls for crash in crashes),
        extra_tokens=fmean(
            crash.extra_input_tokens + crash.extra_output_tokens for crash in crashes
        ),
        extra_seconds=fmean(crash.extra_seconds for crash in crashes),
    )


def _summarise_one(framework: str, results: list[RunResult]) -> FrameworkSummary:
    by_scenario: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        by_scenario[result.scenario].append(result.passed)
    k = min(len(outcomes) for outcomes in by_scenario.values())
    walls = [result.wall_seconds for result in results]
    return FrameworkSummary(
        framework=framework,
        framework_version=results[-1].framework_version,
        runs=len(results),
        passed=sum(result.status == "passed" for result in results),
        failed=sum(result.status == "failed" for result in results),
        errors=sum(result.status == "error" for result in results),
        pass_rate=fmean(result.passed for result in results),
        k=k,
        pass_at_k=fmean(pass_at_k(len(o), sum(o), k) for o in by_scenario.values()),
        pass_hat_k=fmean(pass_hat_k(len(o), sum(o), k) for o in by_scenario.values()),
        safety_violations=sum(result.safety_violations for result in results),
        llm_calls=fmean(result.llm_calls for result in results),
        input_tokens=fmean(result.input_tokens for result in results),
        output_tokens=fmean(result.output_tokens for result in results),
        tool_calls=fmean(result.tool_calls for result in results),
        wall_p50=percentile(walls, 0.50),
        wall_p95=percentile(walls, 0.95),
        llm_seconds=fmean(result.llm_seconds for result in results),
        retries=sum(result.retries for result in results),
        llm_errors=sum(result.llm_errors for result in results),
        categories=category_counts(results),
        **crash_figures(results).model_dump(),
    )


@dataclass(frozen=True, slots=True)
class FailureExample:
    """One framework's runs that did not pass for one reason, with the first one's sentence.

    Attributes:
        category: the error category (or :data:`UNCATEGORISED`).
        framework: the adapter name.
        fault: the fault kind behind a ``model_fault`` (None otherwise).
        runs: how many runs of the framework share this category and fault.
        detail: the first such run's ``error_detail`` (else its first error, else its failed
            checks): what happened, attributed.
    """

    category: str
    framework: str
    fault: str | None
    runs: int
    detail: str

    def sentence(self) -> str:
        """``langchain model_fault (empty_choices) x3: LangChain failed with IndexError ...``"""
        fault = f" ({self.fault})" if self.fault else ""
        return f"{self.framework} {self.category}{fault} x{self.runs}: {self.detail}"


def _detail(result: RunResult) -> str:
    if result.error_detail:
        return result.error_detail
    if result.errors:
        return result.errors[0]
    failed = [grade.name for grade in result.grades if not grade.passed]
    return f"failed checks: {', '.join(failed)}" if failed else f"status {result.status}"


def failure_examples(
    results: Iterable[RunResult], order: Sequence[str] = ()
) -> list[FailureExample]:
    """One example per (category, framework, fault) over the runs that did not pass: categories
    in :data:`CATEGORY_ORDER`, frameworks in ``order`` then by name, faults as first seen."""
    first: dict[tuple[str, str, str | None], RunResult] = {}
    counts: dict[tuple[str, str, str | None], int] = defaultdict(int)
    for result in results:
        if result.passed:
            continue
        key = (result.error_category or UNCATEGORISED, compared_as(result), result.fault)
        first.setdefault(key, result)
        counts[key] += 1
    frameworks = sorted({key[1] for key in first})
    rank: dict[str, int] = {}
    for name in [*with_mcp_names(order, frameworks), *frameworks]:
        rank.setdefault(name, len(rank))
    seen = list(first)
    keys = sorted(
        seen,
        key=lambda key: (CATEGORY_ORDER.index(key[0]), rank[key[1]], seen.index(key)),
    )
    return [
        FailureExample(
            category=key[0],
            framework=key[1],
            fault=key[2],
            runs=counts[key],
            detail=_detail(first[key]),
        )
        for key in keys
    ]


MCP_SUFFIX: Final = "+mcp"
"""How a run with ``tools: mcp`` is named in every view: ``langchain+mcp`` beside ``langchain``."""


def compared_as(result: RunResult) -> str:
    """The name a run is compared under: its framework, with :data:`MCP_SUFFIX` over MCP."""
    return result.framework + MCP_SUFFIX if result.tools == "mcp" else result.framework


def labelled(results: Iterable[RunResult]) -> list[RunResult]:
    """The results with each MCP run's ``framework`` set to :func:`compared_as`, so that every
    per-framework view (tables, charts, timelines, failures) shows it beside the native runs
    of the same framework instead of mixing the two modes in one row."""
    return [
        result.model_copy(update={"framework": compared_as(result)})
        if result.tools == "mcp" and not result.framework.endswith(MCP_SUFFIX)
        else result
        for result in results
    ]


def with_mcp_names(order: Sequence[str], present: Iterable[str]) -> list[str]:
    """``order`` with each framework's ``+mcp`` name right after it, where present."""
    names = set(present)
    expanded: list[str] = []
    for name in order:
        for candidate in (name, name + MCP_SUFFIX):
            if candidate in names and candidate not in expanded:
                expanded.append(candidate)
    return expanded


def summarise(results: Iterable[RunResult], order: Sequence[str] = ()) -> list[FrameworkSummary]:
    """One summary per framework and tools mode (:func:`compared_as`): in ``order`` first (each
    framework's MCP runs right after its native runs), then the rest by name."""
    grouped: dict[str, list[RunResult]] = defaultdict(list)
    for result in labelled(results):
        grouped[result.framework].append(result)
    ranked = with_mcp_names(order, grouped)
    ranked += sorted(name for name in grouped if name not in ranked)
    return [_summarise_one(name, grouped[name]) for name in ranked]
