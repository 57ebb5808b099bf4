"""The step model from openai-v2 + agentrig spans, real OpenInference spans, and OpenInference alone."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from agentrig.core.telemetry import (
    CapturedTelemetry,
    RunTrace,
    SpanRecord,
    Telemetry,
    instrument_framework,
    normalise,
)
from tests.core.telemetry.helpers import ToolRecord
from tests.core.telemetry.openai_stub import COMPLETION_TOKENS, PROMPT_TOKENS, OpenAIStub


def test_a_run_of_openai_v2_and_agentrig_spans(
    captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with (
        Telemetry.for_run("run-n1", "plain", "blocked", metrics=captured.metrics) as t,
        t.workflow("maintenance"),
    ):
        with t.agent("monitor"):
            client.chat.completions.create(
                model="reference", messages=[{"role": "user", "content": "call:read"}]
            )
            t.tool_hook(ToolRecord("read_sensor", {"window": 3, "id": "PT-1"}, result={"bar": 9.1}))
        with t.agent("operator"):
            client.chat.completions.create(
                model="reference", messages=[{"role": "user", "content": "act"}]
            )
            t.tool_hook(
                ToolRecord(
                    "restart_pump",
                    {"pump": "P-1"},
                    refused_reason="valve closed",
                    safety_violation=True,
                )
            )
            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(
                    model="reference", messages=[{"role": "user", "content": "fail:400"}]
                )
        t.evaluation("fault_resolved", score=0.0, label="fail")

    run = normalise(captured.records(), run_id="run-n1")
    assert (run.run_id, run.framework, run.scenario, run.workflow) == (
        "run-n1",
        "plain",
        "blocked",
        "maintenance",
    )
    assert [(segment.role, [step.kind for step in segment.steps]) for segment in run.roles] == [
        ("monitor", ["llm", "tool"]),
        ("operator", ["llm", "tool", "llm"]),
    ]
    llm, tool = run.roles[0].steps
    assert (llm.model, llm.provider, llm.source) == ("reference", "openai", "openai-v2")
    assert (llm.input_tokens, llm.output_tokens, llm.finish_reasons) == (
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
        ["tool_calls"],
    )
    assert tool.arguments == {"id": "PT-1", "window": 3}
    assert tool.result == '{"bar":9.1}'
    assert tool.signature == 'monitor|tool|read_sensor|{"id":"PT-1","window":3}'
    refused, failed = run.roles[1].steps[1:]
    assert (refused.status, refused.refused_reason, refused.safety_violation) == (
        "refused",
        "valve closed",
        True,
    )
    assert (
        failed.error
        == "BadRequestError: Error code: 400 - {'error': {'message': 'injected failure', 'type': 'server_error', 'code': None}}"
    )
    assert (run.llm_calls, run.tool_calls, run.errors) == (3, 2, 2)
    assert run.input_tokens == 2 * PROMPT_TOKENS  # the failed call reported no usage
    assert run.evaluations[0].name == "fault_resolved"
    assert run.evaluations[0].label == "fail"
    assert 0 < run.roles[0].start_s < run.roles[1].start_s < run.duration_s
    assert RunTrace.model_validate_json(run.model_dump_json()) == run


def test_real_openinference_langchain_spans_are_deduplicated_against_openai_v2(
    captured: CapturedTelemetry, openai_stub: OpenAIStub
) -> None:
    instrument_framework("langchain")
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="reference", base_url=openai_stub.base_url, api_key="k", max_retries=0)
    with Telemetry.for_run("run-lc", "langchain", metrics=captured.metrics) as t:

        @tool
        def read_sensor(sensor_id: str) -> str:
            """Read one sensor."""
            t.tool_hook(ToolRecord("read_sensor", {"sensor_id": sensor_id}, duration_s=0.0))
            return "7.5 bar"

        with t.workflow("w"), t.agent("diagnostician"):
            model.invoke("call:read_sensor {}")
            read_sensor.invoke({"sensor_id": "PT-1"})

    records = captured.records("run-lc")
    kinds = sorted(
        str(r.attributes.get("openinference.span.kind", ""))
        for r in records
        if r.scope_name != "agentrig"  # agentrig's own spans carry a kind too
    )
    assert kinds.count("LLM") == 1
    assert kinds.count("TOOL") == 1  # OpenInference did describe both calls too
    run = normalise(records)
    (segment,) = run.roles
    assert segment.role == "diagnostician"
    assert [(s.kind, s.source) for s in segment.steps] == [
        ("llm", "openai-v2"),
        ("tool", "agentrig"),
    ]
    assert segment.steps[1].arguments == {"sensor_id": "PT-1"}
    assert (run.llm_calls, run.input_tokens, run.output_tokens) == (
        1,
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
    )


def _span(
    span_id: str, parent: str, name: str, start: int, end: int, **attributes: Any
) -> SpanRecord:
    base = {"agentrig.run_id": "run-oi", "agentrig.framework": "crewai"}
    return SpanRecord(
        trace_id="ab" * 16,
        span_id=span_id.rjust(16, "0"),
        parent_span_id=parent.rjust(16, "0") if parent else "",
        name=name,
        kind="INTERNAL",
        start_unix_nano=start,
        end_unix_nano=end,
        attributes={**base, **attributes},
    )


def test_openinference_spans_alone_give_the_same_step_model() -> None:
    # The shape OpenInference's CrewAI / AutoGen instrumentors produce when openai-v2 is absent.
    ms = 1_000_000
    spans = [
        _span("1", "", "Crew.kickoff", 0, 100 * ms, **{"openinference.span.kind": "CHAIN"}),
        _span(
            "2",
            "1",
            "diagnostician._execute_core",
            1 * ms,
            50 * ms,
            **{"openinference.span.kind": "AGENT", "graph.node.id": "diagnostician"},
        ),
        _span(
            "3",
            "2",
            "LLM.call",
            2 * ms,
            20 * ms,
            **{
                "openinference.span.kind": "LLM",
                "llm.model_name": "openai/reference",
                "llm.provider": "openai",
                "llm.token_count.prompt": 40,
                "llm.token_count.completion": 7,
                "llm.finish_reason": "tool_calls",
            },
        ),
        _span(
            "4",
            "2",
            "diagnostician.read_sensor",
            21 * ms,
            25 * ms,
            **{
                "openinference.span.kind": "TOOL",
                "tool.name": "read_sensor",
                "input.value": json.dumps({"sensor_id": "PT-1"}),
                "output.value": "7.5 bar",
            },
        ),
        _span(
            "5",
            "1",
            "operator._execute_core",
            51 * ms,
            99 * ms,
            **{"openinference.span.kind": "AGENT", "graph.node.id": "operator"},
        ),
        _span(
            "6",
            "5",
            "LLM.call",
            52 * ms,
            60 * ms,
            **{
                "openinference.span.kind": "LLM",
                "llm.model_name": "openai/reference",
                "llm.token_count.prompt": 50,
                "llm.token_count.completion": 9,
            },
        ),
    ]
    run = normalise(spans)
    assert [(s.role, [(step.kind, step.source) for step in s.steps]) for s in run.roles] == [
        ("diagnostician", [("llm", "openinference"), ("tool", "openinference")]),
        ("operator", [("llm", "openinference")]),
    ]
    llm, tool = run.roles[0].steps
    assert (llm.model, llm.input_tokens, llm.output_tokens, llm.finish_reasons) == (
        "openai/reference",
        40,
        7,
        ["tool_calls"],
    )
    assert (tool.tool, tool.arguments, tool.result) == (
        "read_sensor",
        {"sensor_id": "PT-1"},
        "7.5 bar",
    )
    assert run.roles[0].start_s == 0.001
    assert run.roles[0].duration_s == pytest.approx(0.049)
    assert (run.llm_calls, run.tool_calls, run.input_tokens, run.output_tokens) == (2, 1, 90, 16)
    assert run.signatures() == [
        "diagnostician|llm",
        'diagnostician|tool|read_sensor|{"sensor_id":"PT-1"}',
        "operator|llm",
    ]


def test_signatures_do_not_depend_on_argument_order_or_encoding() -> None:
    ms = 1_000_000
    spans = [
        _span(
            "1",
            "",
            "execute_tool set_valve",
            0,
            ms,
            **{
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "set_valve",
                "agentrig.role": "operator",
                "gen_ai.tool.call.arguments": '{"open_pct": 50, "valve": "V-1"}',
            },
        ),
    ]
    other = [
        _span(
            "1",
            "",
            "operator.set_valve",
            0,
            ms,
            **{
                "openinference.span.kind": "TOOL",
                "tool.name": "set_valve",
                "agentrig.role": "operator",
                "input.value": '{"valve":"V-1",  "open_pct":50}',
            },
        ),
    ]
    assert normalise(spans).signatures() == normalise(other).signatures()


def test_nothing_to_normalise_is_an_error() -> None:
    with pytest.raises(ValueError, match="no spans for run 'missing'"):
        normalise([], run_id="missing")
