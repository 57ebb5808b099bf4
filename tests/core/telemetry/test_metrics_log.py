"""A worker's metrics, kept as observations and replayed in the driver, equal the counted ones."""

from __future__ import annotations

import openai
import pytest
from prometheus_client import generate_latest

from agentrig.core.telemetry import AgentrigMetrics, CapturedTelemetry, Telemetry
from agentrig.core.telemetry.metrics_log import MetricsLog, replay
from tests.core.telemetry.test_metrics import _one_run


def _untimed(metrics: AgentrigMetrics) -> list[str]:
    """The exposition without creation times and measured durations (their counts stay)."""
    measured = ("gen_ai_client_operation_duration_seconds_", "agent_task_duration_seconds_")
    return [
        line
        for line in generate_latest(metrics.registry).decode().splitlines()
        if "_created" not in line and not (line.startswith(measured) and "_count" not in line)
    ]


def test_replayed_observations_give_the_same_exposition(
    captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with Telemetry.for_run("counted", "plain", "s1", metrics=captured.metrics) as telemetry:
        _one_run(telemetry, client, ok_calls=2)
    log = MetricsLog()
    with Telemetry.for_run("logged", "plain", "s1", metrics=log) as telemetry:
        _one_run(telemetry, client, ok_calls=2)
    events = log.drain()
    assert log.drain() == []  # drained once
    assert [kind for kind, *_ in events].count("llm") == 3  # two answers and a 500
    assert _untimed(log) == _untimed(AgentrigMetrics())  # the log itself counts nothing
    replayed = AgentrigMetrics()
    replay(events, replayed)
    assert _untimed(replayed) == _untimed(captured.metrics)
    assert 'agentrig_tool_calls_total{framework="plain",status="ok",tool="read_sensor"} 2.0' in (
        _untimed(replayed)
    )


def test_an_unknown_observation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric event 'gauge'"):
        replay([("gauge", "x", 1.0)], AgentrigMetrics())
