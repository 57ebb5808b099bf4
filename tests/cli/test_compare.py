"""`agentrig run`, `agentrig compare` and `agentrig adapters` end to end with the plain baseline."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.contract.results import read_results

runner = CliRunner()
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def test_adapters_lists_the_baseline_as_installed() -> None:
    result = runner.invoke(app, ["adapters", "--json"])
    assert result.exit_code == 0, result.output
    listed = {info["name"]: info for info in json.loads(result.stdout)}  # logs go to stderr
    assert listed["plain"]["installed"] is True
    assert listed["plain"]["framework_version"].startswith("openai ")
    assert set(listed) >= {"plain", "langchain", "autogen", "crewai"}


def test_run_json_prints_a_passing_result_and_writes_it(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "run",
            "-f",
            "plain",
            "-s",
            "closed-discharge-valve",
            "--state",
            "memory://",
            "--out",
            str(tmp_path),
            "--cassettes",  # replay the committed cassettes: no model server, no network
            str(CASSETTES),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["status"] == "passed"
    assert printed["root_cause"] == "closed_valve"
    assert printed["device"] == "valve-12"
    assert [a["tool"] for a in printed["actions"]][:2] == ["set_valve", "restart_device"]
    stored = read_results(tmp_path)
    assert [r.run_id for r in stored] == [printed["run_id"]]
    assert Path(printed["trace_file"]).is_file()


def test_compare_writes_results_metrics_and_a_table_that_matches_them(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            "-f",
            "plain",
            "-s",
            "breaker-trip-cooling-pump,stuck-pressure-sensor",
            "--repeats",
            "2",
            "--state",
            "memory://",
            "--out",
            str(tmp_path),
            "--cassettes",  # replay the committed cassettes: no model server, no network
            str(CASSETTES),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("[") :])
    results = read_results(tmp_path)
    assert len(results) == 4
    assert {(r.scenario, r.repeat) for r in results} == {
        (s, k) for s in ("breaker-trip-cooling-pump", "stuck-pressure-sensor") for k in (0, 1)
    }
    (plain,) = summary
    assert plain["runs"] == 4
    assert plain["passed"] == sum(r.status == "passed" for r in results) == 4
    assert plain["llm_calls"] == sum(r.llm_calls for r in results) / 4
    metrics = (tmp_path / "metrics.prom").read_text()
    assert (
        'agentrig_runs_total{framework="plain",scenario="stuck-pressure-sensor",status="passed"} 2.0'
        in metrics
    )


def test_compare_refuses_an_unknown_framework_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", "-f", "plain,nosuch", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown framework 'nosuch'" in result.output
    assert not (tmp_path / "results.jsonl").exists()


def test_compare_refuses_an_unknown_scenario_and_lists_the_catalogue(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", "-f", "plain", "-s", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown scenario(s) nope" in result.output
    assert "closed-discharge-valve" in result.output
