"""`agentrig trace show RUN`: the step tree from a run's trace file, by run id or path."""

from __future__ import annotations

import json
from pathlib import Path

import openai
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.telemetry import CapturedTelemetry, Telemetry, trace_file_path
from tests.core.telemetry.helpers import ToolRecord


def _write_run(tmp_path: Path, captured: CapturedTelemetry, client: openai.OpenAI) -> Path:
    with (
        Telemetry.for_run(
            "run-cli", "plain", "blocked", metrics=captured.metrics, out_dir=tmp_path
        ) as t,
        t.workflow("maintenance"),
    ):
        with t.agent("operator"):
            client.chat.completions.create(
                model="reference", messages=[{"role": "user", "content": "x"}]
            )
            t.tool_hook(
                ToolRecord(
                    "restart_pump",
                    {"pump": "P-101"},
                    refused_reason="valve V-3 closed",
                    safety_violation=True,
                )
            )
        t.evaluation("no_safety_violation", score=0.0, label="fail")
    return trace_file_path(tmp_path, "run-cli")


def test_trace_show_prints_the_step_tree(
    tmp_path: Path, captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    path = _write_run(tmp_path, captured, client)
    by_id = CliRunner().invoke(
        app, ["trace", "show", "run-cli", "--out", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert by_id.exit_code == 0, by_id.output
    out = by_id.output
    assert "run run-cli plain / blocked · maintenance" in out
    assert "operator" in out
    assert "llm reference" in out
    assert "tokens 11 in / 5 out" in out
    assert 'tool restart_pump({"pump":"P-101"}) refused' in out
    assert "SAFETY VIOLATION" in out
    assert "no_safety_violation: fail 0" in out
    by_path = CliRunner().invoke(app, ["trace", "show", str(path)], env={"COLUMNS": "200"})
    assert by_path.output == out


def test_trace_show_json(
    tmp_path: Path, captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    path = _write_run(tmp_path, captured, client)
    result = CliRunner().invoke(app, ["trace", "show", str(path), "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["run_id"] == "run-cli"
    assert [step["signature"] for role in run["roles"] for step in role["steps"]] == [
        "operator|llm",
        'operator|tool|restart_pump|{"pump":"P-101"}',
    ]


def test_trace_show_explains_a_missing_or_broken_file(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["trace", "show", "nope", "--out", str(tmp_path)])
    assert missing.exit_code == 2
    assert "no trace file" in missing.output
    assert str(tmp_path / "nope" / "trace.jsonl") in missing.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    result = CliRunner().invoke(app, ["trace", "show", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}:1" in result.output
