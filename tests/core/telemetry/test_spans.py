"""Span names, attributes and parentage: workflow, agent, tool and chat spans per GenAI semconv."""

from __future__ import annotations

import json
import time

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from agentrig.core.telemetry import CapturedTelemetry, Telemetry
from agentrig.core.telemetry.instrumentation import CAPTURE_CONTENT_ENV
from agentrig.exceptions import TelemetryError
from tests.core.telemetry.helpers import ToolRecord
from tests.core.telemetry.openai_stub import COMPLETION_TOKENS, PROMPT_TOKENS


def _by_name(captured: CapturedTelemetry, run_id: str) -> dict[str, list]:
    spans: dict[str, list] = {}
    for span in captured.spans(run_id):
        spans.setdefault(span.name, []).append(span)
    return spans


def test_a_run_has_workflow_agent_tool_and_chat_spans_correctly_parented(
    captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with (
        Telemetry.for_run("run-spans", "plain", "blocked", metrics=captured.metrics) as t,
        t.workflow("maintenance"),
        t.agent("monitor"),
    ):
        client.chat.completions.create(
            model="reference",
            messages=[{"role": "user", "content": 'call:read_sensor {"id":"PT-1"}'}],
        )
        t.tool_hook(ToolRecord("read_sensor", {"id": "PT-1"}, "monitor", result={"bar": 7.5}))

    spans = _by_name(captured, "run-spans")
    assert sorted(spans) == [
        "chat reference",
        "execute_tool read_sensor",
        "invoke_agent monitor",
        "invoke_workflow maintenance",
    ]
    (workflow,) = spans["invoke_workflow maintenance"]
    (agent,) = spans["invoke_agent monitor"]
    (chat,) = spans["chat reference"]
    (tool,) = spans["execute_tool read_sensor"]
    assert workflow.parent is None
    assert agent.parent.span_id == workflow.context.span_id
    assert chat.parent.span_id == agent.context.span_id
    assert tool.parent.span_id == agent.context.span_id
    assert {s.context.trace_id for s in (workflow, agent, chat, tool)} == {
        workflow.context.trace_id
    }

    assert workflow.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent.attributes["gen_ai.agent.name"] == "monitor"
    assert chat.kind is SpanKind.CLIENT
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.request.model"] == "reference"
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert chat.attributes["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
    assert chat.attributes["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "read_sensor"
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"id": "PT-1"}
    assert json.loads(tool.attributes["gen_ai.tool.call.result"]) == {"bar": 7.5}
    for span in (workflow, agent, chat, tool):
        assert span.attributes["agentrig.run_id"] == "run-spans"
        assert span.attributes["agentrig.framework"] == "plain"
        assert span.attributes["agentrig.scenario"] == "blocked"
    assert chat.attributes["agentrig.role"] == tool.attributes["agentrig.role"] == "monitor"


def test_tool_span_keeps_the_executors_times_and_marks_refusals(
    captured: CapturedTelemetry,
) -> None:
    started = time.time_ns() - 5_000_000
    refused = ToolRecord(
        "restart_pump",
        {"pump": "P-101"},
        "operator",
        refused_reason="discharge valve V-3 is closed",
        safety_violation=True,
        started_at_ns=started,
        duration_s=0.0042,
        idempotency_key="run:7",
    )
    with (
        Telemetry.for_run("run-refused", "plain", metrics=captured.metrics) as t,
        t.workflow("maintenance"),
        t.agent("operator"),
    ):
        t.tool_hook(refused)
    (span,) = captured.by_name("execute_tool restart_pump")
    assert span.start_time == started
    assert span.end_time == started + 4_200_000
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "refused"
    assert span.attributes["agentrig.tool.status"] == "refused"
    assert span.attributes["agentrig.tool.safety_violation"] is True
    assert span.attributes["agentrig.tool.refused_reason"] == "discharge valve V-3 is closed"
    assert span.attributes["agentrig.tool.idempotency_key"] == "run:7"


def test_chat_error_sets_error_type_and_status(
    captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with (
        Telemetry.for_run("run-error", "plain", metrics=captured.metrics) as t,
        t.workflow("w"),
        pytest.raises(openai.InternalServerError),
    ):
        client.chat.completions.create(
            model="reference", messages=[{"role": "user", "content": "fail:500"}]
        )
    (chat,) = captured.by_name("chat reference")
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes["error.type"] == "InternalServerError"
    assert chat.attributes["gen_ai.provider.name"] == "openai"


async def test_streamed_chat_has_provider_usage_and_finish_reasons(
    captured: CapturedTelemetry, async_client: openai.AsyncOpenAI
) -> None:
    with Telemetry.for_run("run-stream", "autogen", metrics=captured.metrics) as t, t.workflow("w"):
        stream = await async_client.chat.completions.create(
            model="reference",
            messages=[{"role": "user", "content": "status?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for _ in stream:
            pass
    (chat,) = captured.by_name("chat reference")
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
    assert chat.attributes["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    # openai-v2 2.4b0 leaves this out for streams; instrumentation.py fills it in.
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert chat.attributes["agentrig.run_id"] == "run-stream"


def test_message_content_is_not_recorded_by_default(
    captured: CapturedTelemetry, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
    with Telemetry.for_run("run-private", "plain", metrics=captured.metrics) as t, t.workflow("w"):
        client.chat.completions.create(
            model="reference", messages=[{"role": "user", "content": "SECRET-PROMPT-TEXT"}]
        )
    (chat,) = captured.by_name("chat reference")
    recorded = json.dumps({k: str(v) for k, v in chat.attributes.items()})
    assert "SECRET-PROMPT-TEXT" not in recorded
    assert "all normal" not in recorded
    assert "gen_ai.input.messages" not in chat.attributes


def test_evaluations_are_events_on_the_workflow_span(captured: CapturedTelemetry) -> None:
    with Telemetry.for_run("run-grades", "plain", metrics=captured.metrics) as t:
        with t.workflow("maintenance"):
            t.evaluation("fault_resolved", score=1.0, label="pass")
            t.evaluation(
                "no_safety_violation", score=0.0, label="fail", explanation="restart refused"
            )
        with pytest.raises(TelemetryError, match=r"inside `with telemetry\.workflow"):
            t.evaluation("late", score=1.0)
    (workflow,) = captured.by_name("invoke_workflow maintenance")
    events = [(e.name, dict(e.attributes)) for e in workflow.events]
    assert events == [
        (
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "fault_resolved",
                "gen_ai.evaluation.score.value": 1.0,
                "gen_ai.evaluation.score.label": "pass",
            },
        ),
        (
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "no_safety_violation",
                "gen_ai.evaluation.score.value": 0.0,
                "gen_ai.evaluation.score.label": "fail",
                "gen_ai.evaluation.explanation": "restart refused",
            },
        ),
    ]


def test_an_exception_in_a_role_marks_agent_and_workflow_spans(captured: CapturedTelemetry) -> None:
    with (
        Telemetry.for_run("run-crash", "plain", metrics=captured.metrics) as t,
        pytest.raises(RuntimeError, match="model went away"),
        t.workflow("w"),
        t.agent("diagnostician"),
    ):
        raise RuntimeError("model went away")
    for name in ("invoke_agent diagnostician", "invoke_workflow w"):
        (span,) = captured.by_name(name)
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "RuntimeError"
        assert [e.name for e in span.events] == ["exception"]
