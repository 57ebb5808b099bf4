"""Per-framework summaries of a comparison: the numbers the side-by-side table shows.

Every figure is computed from :class:`~agentrig.core.contract.results.RunResult` lines alone, so a
summary re-rendered from ``results.jsonl`` is the one printed when the comparison ran.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from statistics import fmean

from pydantic import BaseModel, ConfigDict

from agentrig.core.contract.results import RunResult
from agentrig.core.plant.grader import pass_at_k, pass_hat_k

__all__ = ["FrameworkSummary", "percentile", "summarise"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class FrameworkSummary(BaseModel):
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
    )


def summarise(results: Iterable[RunResult], order: Sequence[str] = ()) -> list[FrameworkSummary]:
    """One summary per framework: in ``order`` first, then the rest by name."""
    grouped: dict[str, list[RunResult]] = defaultdict(list)
    for result in results:
        grouped[result.framework].append(result)
    ranked = [name for name in order if name in grouped]
    ranked += sorted(name for name in grouped if name not in ranked)
    return [_summarise_one(name, grouped[name]) for name in ranked]
