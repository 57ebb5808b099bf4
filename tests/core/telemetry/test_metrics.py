"""Metric values equal the calls made; the exposition is served and accepted by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import openai
import pytest

from agentrig.core.telemetry import (
    AgentrigMetrics,
    CapturedTelemetry,
    Telemetry,
    serve_metrics,
    write_textfile,
)
from tests.conftest import service_unavailable
from tests.core.telemetry.helpers import ToolRecord
from tests.core.telemetry.openai_stub import COMPLETION_TOKENS, PROMPT_TOKENS

LLM = {
    "gen_ai_request_model": "reference",
    "gen_ai_operation_name": "chat",
    "gen_ai_provider_name": "openai",
}


def _one_run(telemetry: Telemetry, client: openai.OpenAI, ok_calls: int) -> None:
    with telemetry.workflow("maintenance"), telemetry.agent("operator"):
        for _ in range(ok_calls):
            client.chat.completions.create(
                model="reference", messages=[{"role": "user", "content": "go"}]
            )
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="reference", messages=[{"role": "user", "content": "fail:500"}]
            )
        telemetry.tool_hook(ToolRecord("read_sensor", {"id": "PT-1"}, "operator", duration_s=0.003))
        telemetry.tool_hook(ToolRecord("read_sensor", {"id": "PT-2"}, "operator", duration_s=0.004))
        telemetry.tool_hook(
            ToolRecord(
                "restart_pump",
                {"pump": "P-1"},
                "operator",
                refused_reason="valve closed",
                safety_violation=True,
            )
        )
        telemetry.tool_hook(
            ToolRecord("set_valve", {"valve": "V-9"}, "operator", error="no such valve")
        )
        telemetry.tool_hook(ToolRecord("read_sensor", {"id": "PT-1"}, "operator", replayed=True))
    telemetry.record_run("passed", 2.5)


def test_metric_values_equal_the_calls_made(
    captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with Telemetry.for_run("run-m1", "plain", "blocked", metrics=captured.metrics) as t:
        _one_run(t, client, ok_calls=3)
    # Another run with its own registry must not leak into this one.
    with Telemetry.for_run("run-m2", "plain", "blocked", metrics=AgentrigMetrics()) as other:
        _one_run(other, client, ok_calls=1)

    sample = captured.sample
    input_series = {"framework": "plain", "gen_ai_token_type": "input", **LLM}
    output_series = {"framework": "plain", "gen_ai_token_type": "output", **LLM}
    assert sample("gen_ai_client_token_usage_count", **input_series) == 3
    assert sample("gen_ai_client_token_usage_sum", **input_series) == 3 * PROMPT_TOKENS
    assert sample("gen_ai_client_token_usage_sum", **output_series) == 3 * COMPLETION_TOKENS
    ok = {"framework": "plain", **LLM, "error_type": ""}
    failed = {"framework": "plain", **LLM, "error_type": "InternalServerError"}
    assert sample("gen_ai_client_operation_duration_seconds_count", **ok) == 3
    assert sample("gen_ai_client_operation_duration_seconds_count", **failed) == 1
    assert sample("gen_ai_client_operation_duration_seconds_sum", **ok) > 0
    assert (
        sample("agentrig_llm_errors_total", framework="plain", error_type="InternalServerError")
        == 1
    )

    def calls(tool: str, status: str) -> float:
        return sample("agentrig_tool_calls_total", framework="plain", tool=tool, status=status)

    assert calls("read_sensor", "ok") == 2
    assert calls("read_sensor", "replayed") == 1
    assert calls("restart_pump", "refused") == 1
    assert calls("set_valve", "error") == 1
    assert (
        sample("agentrig_tool_duration_seconds_count", framework="plain", tool="read_sensor") == 3
    )
    assert sample(
        "agentrig_tool_duration_seconds_sum", framework="plain", tool="read_sensor"
    ) == pytest.approx(0.003 + 0.004 + 0.002)
    assert sample("agentrig_safety_violations_total", framework="plain") == 1
    assert (
        sample("agentrig_runs_total", framework="plain", scenario="blocked", status="passed") == 1
    )
    assert sample("agentrig_run_duration_seconds_sum", framework="plain", scenario="blocked") == 2.5


def test_metrics_are_served_on_loopback_and_stop(captured: CapturedTelemetry) -> None:
    captured.metrics.record_run("crewai", "cascade", "failed", 12.0)
    server = serve_metrics(captured.registry, port=0)
    try:
        assert server.host == "127.0.0.1"
        body = httpx.get(server.url, timeout=5).text
        assert (
            'agentrig_runs_total{framework="crewai",scenario="cascade",status="failed"} 1.0' in body
        )
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        service_unavailable(
            "promtool is not installed: `make promtool` (Debian package prometheus)"
        )
    return path


def test_promtool_accepts_the_exposition(
    promtool: str, tmp_path: Path, captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with Telemetry.for_run("run-prom", "langchain", "stuck_sensor", metrics=captured.metrics) as t:
        _one_run(t, client, ok_calls=2)
    textfile = write_textfile(captured.registry, tmp_path / "metrics" / "agentrig.prom")
    exposition = textfile.read_text()
    assert 'agentrig_safety_violations_total{framework="langchain"} 1.0' in exposition
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_role_turn_is_an_agent_task_labelled_by_role_and_framework(
    captured: CapturedTelemetry,
) -> None:
    with (
        Telemetry.for_run("run-tasks", "autogen", metrics=captured.metrics) as t,
        t.workflow("maintenance"),
    ):
        for role in ("monitor", "diagnostician"):
            with t.agent(role):
                pass
        with pytest.raises(RuntimeError), t.agent("operator"):
            raise RuntimeError("the operator's model call failed")
        with t.agent("monitor"):
            pass

    def tasks(agent_id: str, status: str) -> float:
        return captured.sample(
            "agent_tasks_processed_total", agent_id=agent_id, framework="autogen", status=status
        )

    assert tasks("monitor", "ok") == 2
    assert tasks("diagnostician", "ok") == 1
    assert tasks("operator", "ok") == 0
    assert tasks("operator", "error") == 1
    for agent_id, turns in (("monitor", 2), ("diagnostician", 1), ("operator", 1)):
        series = {"agent_id": agent_id, "framework": "autogen"}
        assert captured.sample("agent_task_duration_seconds_count", **series) == turns
        assert captured.sample("agent_task_duration_seconds_sum", **series) > 0


def test_genai_metrics_use_semantic_convention_label_names_and_advised_buckets(
    captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with Telemetry.for_run("run-names", "plain", metrics=captured.metrics) as t:
        _one_run(t, client, ok_calls=1)
    families = {family.name: family for family in captured.registry.collect()}

    def label_names(name: str) -> set[str]:
        return {key for sample in families[name].samples for key in sample.labels} - {"le"}

    def bounds(name: str) -> list[float]:
        return sorted(
            {float(s.labels["le"]) for s in families[name].samples if "le" in s.labels}
            - {float("inf")}
        )

    genai = {"gen_ai_request_model", "gen_ai_operation_name", "gen_ai_provider_name"}
    assert label_names("gen_ai_client_token_usage") == {"framework", "gen_ai_token_type", *genai}
    assert label_names("gen_ai_client_operation_duration_seconds") == {
        "framework",
        "error_type",
        *genai,
    }
    # The ExplicitBucketBoundaries the GenAI metric conventions advise.
    assert bounds("gen_ai_client_token_usage") == [4.0**power for power in range(14)]
    assert bounds("gen_ai_client_operation_duration_seconds") == pytest.approx(
        [0.01 * 2**power for power in range(14)]
    )
