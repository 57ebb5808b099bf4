"""What a CI job reads from ``run`` and ``compare``: one line per errored cell, and the exit status.

An errored run's traceback goes to ``<out>/<run_id>/error.txt``; the console gets one line per
errored cell. ``compare`` exits 1 when a run errored or a framework's pass rate is below
``--fail-under``. Runs replay cassettes (an empty cassette folder makes every run error with a
real exception), so nothing here needs a model server or the network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.cli.compare import below_threshold, parse_pass_rate
from agentrig.core.contract.results import RunResult, read_results
from agentrig.core.report.summary import summarise

runner = CliRunner()
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
SCENARIOS = ("breaker-trip-cooling-pump", "stuck-pressure-sensor")


def _compare(out: Path, cassettes: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [
            "compare",
            "-f",
            "plain",
            "-s",
            ",".join(SCENARIOS),
            "--state",
            "memory://",
            "--out",
            str(out),
            "--cassettes",
            str(cassettes),
            "--json",
            *extra,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_compare_with_every_cell_errored_exits_1_with_one_line_per_cell(tmp_path: Path) -> None:
    empty = tmp_path / "no-cassettes"
    empty.mkdir()
    code, _, stderr = _compare(tmp_path / "out", empty)
    assert code == 1
    results = read_results(tmp_path / "out")
    assert [r.status for r in results] == ["error", "error"]
    error_lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 2
    for result in results:
        traceback_file = tmp_path / "out" / result.run_id / "error.txt"
        (line,) = [line for line in error_lines if f"plain x {result.scenario}:" in line]
        # The attributed reason: a missing recording is a setting to fix, and how to fix it.
        assert ": [config] the plain openai loop: no cassette at" in line
        assert "agentrig record -f plain" in line
        assert line.endswith(f"(traceback: {traceback_file})")
        traceback_text = traceback_file.read_text()
        assert "Traceback (most recent call last)" in traceback_text
        assert "MissingCassetteError" in traceback_text
    assert "Traceback" not in stderr
    assert all(len(line) < 1000 for line in stderr.splitlines())
    assert stderr.splitlines()[-1] == "failed: 2 of 2 runs errored"


def test_compare_fail_under_names_the_framework_below_it(tmp_path: Path) -> None:
    empty = tmp_path / "no-cassettes"
    empty.mkdir()
    code, _, stderr = _compare(tmp_path / "out", empty, "--fail-under", "50%")
    assert code == 1
    assert stderr.splitlines()[-2:] == [
        "failed: 2 of 2 runs errored",
        "failed: --fail-under 50%: plain passed 0/2 runs (0%)",
    ]


def test_compare_passing_every_cell_meets_fail_under_and_exits_0(tmp_path: Path) -> None:
    code, stdout, stderr = _compare(tmp_path, CASSETTES, "--fail-under", "1")
    assert code == 0, stderr
    (plain,) = json.loads(stdout[stdout.index("[") :])
    assert (plain["runs"], plain["passed"], plain["pass_rate"]) == (2, 2, 1.0)
    assert "failed:" not in stderr
    assert "error:" not in stderr


def test_run_errored_exits_1_with_one_line_and_the_traceback_in_the_run_folder(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "no-cassettes"
    empty.mkdir()
    result = runner.invoke(
        app,
        [
            "run",
            "-f",
            "plain",
            "-s",
            SCENARIOS[0],
            "--state",
            "memory://",
            "--out",
            str(tmp_path / "out"),
            "--cassettes",
            str(empty),
            "--json",
        ],
    )
    assert result.exit_code == 1
    (stored,) = read_results(tmp_path / "out")
    traceback_file = tmp_path / "out" / stored.run_id / "error.txt"
    assert [line for line in result.stderr.splitlines() if "error" in line.lower()] == [
        f"error: plain x {SCENARIOS[0]}: [config] {stored.error_detail} (traceback: "
        f"{traceback_file})"
    ]
    assert "MissingCassetteError" in traceback_file.read_text()
    assert stored.error_category == "config"
    assert (stored.error_detail or "").startswith("the plain openai loop: no cassette at")


@pytest.mark.parametrize(
    ("text", "rate"), [("0.8", 0.8), ("80%", 0.8), ("0", 0.0), ("1", 1.0), ("100%", 1.0)]
)
def test_pass_rate_thresholds(text: str, rate: float) -> None:
    assert parse_pass_rate(text) == pytest.approx(rate)


def test_below_threshold_lists_only_the_frameworks_under_it() -> None:
    def result(framework: str, repeat: int, status: str) -> RunResult:
        return RunResult(
            run_id=f"{framework}-{repeat}",
            framework=framework,
            framework_version="1",
            scenario="s",
            model="reference",
            repeat=repeat,
            status=status,  # type: ignore[arg-type]
        )

    summaries = summarise(
        [
            result("plain", 0, "passed"),
            result("plain", 1, "passed"),
            result("crewai", 0, "passed"),
            result("crewai", 1, "failed"),
        ]
    )
    assert below_threshold(summaries, 0.75) == ["--fail-under 75%: crewai passed 1/2 runs (50%)"]
    assert below_threshold(summaries, 0.5) == []
