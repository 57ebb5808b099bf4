"""Per-framework summaries: counts, pass@k / pass^k, percentiles, from RunResult lines alone."""

from __future__ import annotations

import pytest

from agentrig.core.contract.results import RunResult, RunStatus
from agentrig.core.report.summary import percentile, summarise


def _result(
    framework: str, scenario: str, repeat: int, status: RunStatus, **fields: object
) -> RunResult:
    return RunResult(
        run_id=f"{framework}-{scenario}-{repeat}",
        framework=framework,
        framework_version="1.0",
        scenario=scenario,
        model="reference",
        repeat=repeat,
        status=status,
        **fields,  # type: ignore[arg-type]
    )


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) == pytest.approx(4.8)


def test_summary_counts_rates_and_pass_hat_k() -> None:
    results = [
        # scenario a: 2 of 2 pass; scenario b: 1 of 2 passes (one failed)
        _result(
            "x",
            "a",
            0,
            "passed",
            llm_calls=10,
            input_tokens=100,
            output_tokens=10,
            wall_seconds=1.0,
        ),
        _result(
            "x",
            "a",
            1,
            "passed",
            llm_calls=12,
            input_tokens=120,
            output_tokens=12,
            wall_seconds=2.0,
        ),
        _result(
            "x", "b", 0, "passed", llm_calls=8, input_tokens=80, output_tokens=8, wall_seconds=3.0
        ),
        _result(
            "x",
            "b",
            1,
            "failed",
            llm_calls=6,
            input_tokens=60,
            output_tokens=6,
            wall_seconds=4.0,
            safety_violations=2,
            retries=3,
            llm_errors=1,
        ),
        _result("y", "a", 0, "error", errors=["boom"]),
    ]
    x, y = summarise(results, order=["y", "x"])[::-1]
    assert (x.framework, y.framework) == ("x", "y")
    assert (x.runs, x.passed, x.failed, x.errors) == (4, 3, 1, 0)
    assert x.pass_rate == pytest.approx(0.75)
    assert x.k == 2
    # pass^2: scenario a 1.0, scenario b C(1,2)/C(2,2) = 0 -> mean 0.5
    assert x.pass_hat_k == pytest.approx(0.5)
    # pass@2: both scenarios have at least one pass -> 1.0
    assert x.pass_at_k == pytest.approx(1.0)
    assert x.llm_calls == pytest.approx(9.0)
    assert x.input_tokens == pytest.approx(90.0)
    assert x.wall_p50 == pytest.approx(2.5)
    assert (x.safety_violations, x.retries, x.llm_errors) == (2, 3, 1)
    assert (y.runs, y.errors, y.pass_rate, y.pass_hat_k) == (1, 1, 0.0, 0.0)


def test_summary_order_puts_the_named_frameworks_first() -> None:
    results = [_result(name, "a", 0, "passed") for name in ("zeta", "alpha", "plain")]
    assert [s.framework for s in summarise(results, order=["plain"])] == ["plain", "alpha", "zeta"]
