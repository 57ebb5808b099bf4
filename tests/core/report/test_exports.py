"""Export to users' own backends: OTLP traces to a real receiver, Prometheus scrapes mid-compare.

Both reach the reference model live on purpose: what is exported is a real run's telemetry.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from agentrig.core.contract.results import RunResult
from agentrig.core.runner import RunSettings
from agentrig.core.runner.compare import Comparison, compare
from agentrig.core.telemetry.jsonl import read_trace_file
from tests.core.telemetry.otlp_receiver import OtlpReceiver

# A process start, a run and a comparison paced at 40 ms per LLM call: several seconds each.
pytestmark = [pytest.mark.allow_model_requests, pytest.mark.slow]


def _agentrig(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A process of its own: the OTLP exporter belongs to the process's tracer provider, which
    # must not leak into the other tests of this session.
    return subprocess.run(
        [sys.executable, "-c", "from agentrig.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


def test_a_run_exports_its_spans_to_an_otlp_receiver(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with OtlpReceiver() as receiver:
        done = _agentrig(
            "run",
            "-f",
            "plain",
            "-s",
            "closed-discharge-valve",
            "--state",
            "memory://",
            "--out",
            str(tmp_path),
            "--json",
            "--otlp-endpoint",
            receiver.endpoint,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        spans = receiver.spans()
    result = RunResult.model_validate_json(done.stdout.strip().splitlines()[-1])
    assert result.status == "passed"
    assert set(receiver.content_types) == {"application/x-protobuf"}

    # Every span of the run arrived, in the run's trace, the same ones as in its trace file.
    assert {span.trace_id for span in spans} == {result.trace_id}
    on_file = read_trace_file(tmp_path / result.run_id / "trace.jsonl")
    assert sorted(span.span_id for span in spans) == sorted(span.span_id for span in on_file)

    kinds = Counter(span.name.split(" ")[0] for span in spans)
    assert kinds["invoke_workflow"] == 1
    assert kinds["chat"] == result.llm_calls
    assert kinds["execute_tool"] == result.tool_calls
    names = {span.name for span in spans}
    assert {"invoke_workflow maintenance", "invoke_agent monitor", "invoke_agent operator"} <= names
    assert {"execute_tool set_valve", "execute_tool restart_device"} <= names

    chats = [span for span in spans if span.name.startswith("chat ")]
    for chat in chats:
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "openai"
        assert chat.name == f"chat {chat.attributes['gen_ai.request.model']}"
        assert chat.attributes["agentrig.run_id"] == result.run_id
        assert chat.attributes["agentrig.framework"] == "plain"
    assert sum(c.attributes["gen_ai.usage.input_tokens"] for c in chats) == result.input_tokens
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats) == result.output_tokens
    (workflow,) = [span for span in spans if span.name.startswith("invoke_workflow")]
    assert workflow.parent_span_id == ""
    assert workflow.resource["service.name"] == "agentrig"


def _total(exposition: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def _runs_total(exposition: str) -> float:
    return _total(exposition, "agentrig_runs_total")


async def test_prometheus_scrapes_the_metrics_while_a_comparison_runs(tmp_path: Path) -> None:
    scenarios = ["closed-discharge-valve", "breaker-trip-cooling-pump", "stuck-pressure-sensor"]
    comparison = Comparison(out_dir=tmp_path, specs=[])
    running = asyncio.create_task(
        compare(
            ["plain"],
            scenarios,
            # One run at a time, each LLM call 40 ms: a scrape every 50 ms sees the runs finish.
            settings=RunSettings(state_url="memory://", out_dir=tmp_path, latency="40ms"),
            concurrency=1,
            metrics_port=0,
            console=Console(file=io.StringIO()),
            comparison=comparison,
        )
    )
    scrapes: list[str] = []
    async with httpx.AsyncClient(timeout=5) as client:
        while not running.done():
            if comparison.metrics_url is not None:
                try:
                    response = await client.get(comparison.metrics_url)
                except httpx.TransportError:
                    break  # the comparison ended and stopped its server
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain")
                scrapes.append(response.text)
            await asyncio.sleep(0.05)
        await running
        assert comparison.metrics_url is not None
        with pytest.raises(httpx.TransportError):  # served only while the comparison runs
            await client.get(comparison.metrics_url)

    counts = [_runs_total(scrape) for scrape in scrapes]
    assert counts == sorted(counts)  # a counter scraped over time never goes down
    mid_run = [s for s, n in zip(scrapes, counts, strict=True) if 0 < n < len(scenarios)]
    assert mid_run, f"no scrape caught the comparison half-way: {counts}"
    sample = mid_run[0]
    # Mid-run, the finished runs' LLM calls and tool calls are all there to be scraped.
    assert (
        _total(
            sample, "gen_ai_client_token_usage_count", framework="plain", gen_ai_token_type="input"
        )
        >= 1
    )
    assert _total(sample, "agentrig_tool_calls_total", framework="plain") >= 1
    assert _total(sample, "agentrig_run_duration_seconds_count", framework="plain") == _runs_total(
        sample
    )
    final = (tmp_path / "metrics.prom").read_text()
    assert _runs_total(final) == len(comparison.results) == len(scenarios)
