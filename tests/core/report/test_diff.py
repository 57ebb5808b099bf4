"""Trace diff: the alignment of crafted step lists, and of two real runs (reference vs hasty)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.contract.results import read_results
from agentrig.core.report.diff import align_steps, diff_runs, render_diff
from tests.core.report.factories import llm, run_trace, tool

runner = CliRunner()


def _ops(rows: list) -> list[str]:  # type: ignore[type-arg]
    return [row.op + ("*" if row.moved else "") for row in rows]


def _baseline() -> list:  # type: ignore[type-arg]
    return [
        llm("monitor", 0.0),
        tool("monitor", "check_device_status", 0.1, device_id="pump-07"),
        llm("diagnostician", 0.2),
        tool("diagnostician", "read_telemetry", 0.3, device_id="pump-07"),
        llm("operator", 0.4),
        tool("operator", "set_valve", 0.5, device_id="valve-12", open_percent=100),
        llm("operator", 0.6),
    ]


def test_identical_runs_align_step_for_step() -> None:
    steps = _baseline()
    diff = diff_runs(run_trace("a", "plain", "s", steps), run_trace("b", "crewai", "s", steps))
    assert _ops(diff.rows) == ["same"] * 7
    assert [(row.a_index, row.b_index) for row in diff.rows] == [(k, k) for k in range(7)]
    assert diff.identical
    assert diff.first_divergence is None
    assert diff.similarity == 1.0


def test_an_inserted_step_is_only_in_b_and_is_the_first_divergence() -> None:
    a = _baseline()
    b = [*a[:4], tool("diagnostician", "get_maintenance_log", 0.35, device_id="valve-12"), *a[4:]]
    diff = diff_runs(run_trace("a", "plain", "s", a), run_trace("b", "autogen", "s", b))
    assert _ops(diff.rows) == ["same"] * 4 + ["only_b"] + ["same"] * 3
    assert diff.first_divergence == 4
    assert diff.rows[4].b is not None
    assert diff.rows[4].b.tool == "get_maintenance_log"
    assert diff.counts == {"same": 7, "changed": 0, "only_a": 0, "only_b": 1, "moved": 0}
    assert diff.similarity == 14 / 15


def test_a_deleted_step_is_only_in_a() -> None:
    a = _baseline()
    b = a[:2] + a[4:]  # the diagnostician's LLM call and tool call are gone
    rows = align_steps(a, b)
    assert _ops(rows) == ["same", "same", "only_a", "only_a", "same", "same", "same"]


def test_same_tool_with_other_arguments_is_a_change_not_two_gaps() -> None:
    a = _baseline()
    b = list(a)
    b[5] = tool("operator", "set_valve", 0.5, device_id="valve-12", open_percent=50)
    rows = align_steps(a, b)
    assert _ops(rows) == ["same"] * 5 + ["changed", "same"]
    assert rows[5].a is not None
    assert rows[5].a.arguments["open_percent"] == 100
    assert rows[5].b is not None
    assert rows[5].b.arguments["open_percent"] == 50


def test_a_different_tool_or_role_is_never_paired() -> None:
    a = _baseline()
    b = list(a)
    b[5] = tool("operator", "restart_device", 0.5, device_id="pump-07")
    assert _ops(align_steps(a, b)) == ["same"] * 5 + ["only_a", "only_b", "same"]
    c = list(a)
    c[3] = tool("monitor", "read_telemetry", 0.3, device_id="pump-07")  # same tool, other role
    assert "changed" not in _ops(align_steps(a, c))


def test_reordered_steps_are_marked_moved_on_both_sides() -> None:
    read = tool("diagnostician", "read_telemetry", 0.3, device_id="pump-07")
    log = tool("diagnostician", "get_maintenance_log", 0.35, device_id="valve-12")
    alarms = tool("diagnostician", "get_alarm_history", 0.37)
    a = [llm("diagnostician"), read, log, alarms, llm("operator")]
    b = [llm("diagnostician"), log, alarms, read, llm("operator")]
    rows = align_steps(a, b)
    assert _ops(rows) == ["same", "only_a*", "same", "same", "only_b*", "same"]
    moved = [row.a or row.b for row in rows if row.moved]
    assert [step.tool for step in moved if step] == ["read_telemetry", "read_telemetry"]
    diff = diff_runs(run_trace("a", "x", "s", a), run_trace("b", "y", "s", b))
    assert diff.first_divergence is None  # a reordering is not a divergence...
    assert diff.reordered_only  # ...but the runs are not identical either
    assert not diff.identical


def test_swapped_parallel_tool_calls_are_a_reordering_not_a_divergence() -> None:
    # LangChain runs a turn's parallel tool calls concurrently: their start order is arbitrary.
    pump = tool("diagnostician", "check_device_status", 0.3, device_id="pump-07")
    tank = tool("diagnostician", "check_device_status", 0.3, device_id="tank-03")
    valve = tool("operator", "set_valve", 0.5, device_id="valve-12", open_percent=100)
    closed = tool("operator", "set_valve", 0.5, device_id="valve-12", open_percent=0)
    a = [llm("diagnostician"), pump, tank, llm("operator"), valve]
    b = [llm("diagnostician"), tank, pump, llm("operator"), closed]
    rows = align_steps(a, b)
    assert _ops(rows) == ["same", "changed*", "changed*", "same", "changed"]
    diff = diff_runs(run_trace("a", "x", "s", a), run_trace("b", "y", "s", b))
    assert diff.first_divergence == 4  # the valve setting, not the swapped reads


def test_the_shared_prefix_is_kept_as_long_as_possible() -> None:
    # B repeats the operator's last two steps. Both placements of the extra pair score the same;
    # the divergence must be reported after the common part, not at the start.
    a = [llm("operator", 0.0), tool("operator", "stop_device", 0.1, device_id="p"), llm("operator")]
    b = [*a, tool("operator", "stop_device", 0.3, device_id="p"), llm("operator", 0.4)]
    rows = align_steps(a, b)
    assert _ops(rows) == ["same", "same", "same", "only_b", "only_b"]


def test_an_explicit_null_argument_equals_leaving_it_out() -> None:
    a = [tool("monitor", "read_telemetry", device_id="pump-07", sensor_id=None)]
    b = [tool("monitor", "read_telemetry", device_id="pump-07")]
    assert _ops(align_steps(a, b)) == ["same"]
    c = [tool("monitor", "read_telemetry", device_id="pump-07", sensor_id="pt-07")]
    assert _ops(align_steps(a, c)) == ["changed"]


def test_empty_runs() -> None:
    assert align_steps([], []) == []
    assert _ops(align_steps([], [llm("monitor")])) == ["only_b"]
    diff = diff_runs(run_trace("a", "x", "s", []), run_trace("b", "y", "s", []))
    assert diff.identical
    assert diff.similarity == 1.0


def test_the_rendering_calls_out_the_first_divergence_and_collapses_same_steps() -> None:
    a = _baseline()
    b = list(a)
    b[5] = tool("operator", "set_valve", 0.5, device_id="valve-12", open_percent=50)
    diff = diff_runs(run_trace("run-a", "plain", "s", a), run_trace("run-b", "crewai", "s", b))
    console = Console(width=140, record=True, color_system=None)
    console.print(render_diff(diff, context=1))
    text = console.export_text()
    assert "first divergence at row 6 (after 5 same steps): same tool, different arguments" in text
    assert '"open_percent":100' in text
    assert '"open_percent":50' in text
    assert "… 4 same steps …" in text  # rows 1-4 collapsed, row 5 kept as context
    assert "▶~" in text


def _run(tmp_path: Path, model: str) -> str:
    result = runner.invoke(
        app,
        [
            "run",
            "-f",
            "plain",
            "-s",
            "blocked-discharge",
            "--model",
            model,
            "--state",
            "memory://",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout.strip().splitlines()[-1])["run_id"])


# Live on purpose: the hasty persona is what makes the runs differ, and no cassette holds it.
@pytest.mark.allow_model_requests
@pytest.mark.slow  # two real runs
def test_trace_diff_of_a_careful_and_a_hasty_run_shows_where_the_operator_went_wrong(
    tmp_path: Path,
) -> None:
    careful, hasty = _run(tmp_path, "reference"), _run(tmp_path, "reference:hasty")
    results = {r.run_id: r for r in read_results(tmp_path)}
    assert results[careful].safety_violations == 0
    assert results[hasty].safety_violations == 1

    shown = runner.invoke(app, ["trace", "diff", careful, hasty, "--out", str(tmp_path), "--json"])
    assert shown.exit_code == 1, shown.output  # the runs diverge
    diff = json.loads(shown.stdout)
    assert (diff["a_run"], diff["b_run"]) == (careful, hasty)
    rows = diff["rows"]
    first = diff["first_divergence"]
    # Monitor and diagnostician did the same work; the operator is where the runs part ways.
    assert all(row["op"] == "same" for row in rows[:first])
    assert {row["a"]["role"] for row in rows[:first]} >= {"monitor", "diagnostician"}
    assert (rows[first]["a"] or rows[first]["b"])["role"] == "operator"
    only_b = [row["b"] for row in rows if row["op"] == "only_b" and row["b"]["kind"] == "tool"]
    only_a = [row["a"] for row in rows if row["op"] == "only_a" and row["a"]["kind"] == "tool"]
    assert [(s["tool"], s["safety_violation"]) for s in only_b] == [("restart_device", True)]
    assert ("stop_device", False) in [(s["tool"], s["safety_violation"]) for s in only_a]
    # Every step of either run is in the alignment exactly once, in order.
    a_steps = [row["a_index"] for row in rows if row["a_index"] is not None]
    b_steps = [row["b_index"] for row in rows if row["b_index"] is not None]
    assert a_steps == list(range(results[careful].llm_calls + results[careful].tool_calls))
    assert b_steps == list(range(results[hasty].llm_calls + results[hasty].tool_calls))

    rendered = runner.invoke(app, ["trace", "diff", careful, hasty, "--out", str(tmp_path)])
    assert rendered.exit_code == 1
    assert "first divergence" in rendered.stdout
    assert "restart_device" in rendered.stdout
    assert "SAFETY VIOLATION" in rendered.stdout

    same = runner.invoke(app, ["trace", "diff", careful, careful, "--out", str(tmp_path)])
    assert same.exit_code == 0
    assert "the runs took the same steps" in same.stdout


def test_trace_diff_names_a_missing_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["trace", "diff", "nope-a", "nope-b", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "nope-a" in result.output
    assert "does not exist" in result.output
