"""The per-run trace file: valid OTLP/JSON lines, written as spans end, read back exactly."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import openai
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentrig.core.telemetry import (
    CapturedTelemetry,
    SpanRecord,
    Telemetry,
    read_trace_file,
    resolve_trace_file,
    trace_file_path,
)
from agentrig.exceptions import TraceFileError
from tests.core.telemetry.helpers import ToolRecord


def _as_protobuf_json(line: dict) -> dict:
    """OTLP/JSON differs from protobuf's JSON mapping only in hex ids; convert them back."""
    for resource_spans in line["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return line


def test_each_line_is_an_otlp_export_request_and_reads_back_as_the_spans(
    tmp_path: Path, captured: CapturedTelemetry, client: openai.OpenAI
) -> None:
    with Telemetry.for_run(
        "run-file", "plain", "s1", metrics=captured.metrics, out_dir=tmp_path
    ) as t:
        path = trace_file_path(tmp_path, "run-file")
        assert path == tmp_path / "run-file" / "trace.jsonl"
        with t.workflow("maintenance"):
            with t.agent("monitor"):
                client.chat.completions.create(
                    model="reference", messages=[{"role": "user", "content": "hi"}]
                )
                t.tool_hook(
                    ToolRecord(
                        "read_sensor", {"id": "PT-1", "window": 3}, "monitor", result=[1.5, 2]
                    )
                )
            t.evaluation("fault_resolved", score=1.0, label="pass")
            # Written as spans end, while the run goes on: a crash keeps what finished.
            assert len(path.read_text().splitlines()) == 3

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 4
    for line in lines:
        request = json_format.ParseDict(_as_protobuf_json(line), ExportTraceServiceRequest())
        (resource_spans,) = request.resource_spans
        assert {kv.key for kv in resource_spans.resource.attributes} >= {"service.name"}
        (scope_spans,) = resource_spans.scope_spans
        (span,) = scope_spans.spans
        assert len(span.trace_id) == 16
        assert len(span.span_id) == 8
        assert span.end_time_unix_nano >= span.start_time_unix_nano > 0

    expected = sorted(captured.records("run-file"), key=lambda r: r.span_id)
    read_back = sorted(read_trace_file(path), key=lambda r: r.span_id)
    assert read_back == expected
    tool = next(r for r in read_back if r.name == "execute_tool read_sensor")
    assert tool.kind == "INTERNAL"
    chat = next(r for r in read_back if r.name == "chat reference")
    assert chat.kind == "CLIENT"
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    workflow = next(r for r in read_back if r.name == "invoke_workflow maintenance")
    assert workflow.events[0].attributes["gen_ai.evaluation.score.value"] == 1.0
    assert resolve_trace_file("run-file", tmp_path) == path
    assert resolve_trace_file(str(path.parent)) == path


def test_spans_of_other_runs_do_not_go_to_the_file(
    tmp_path: Path, captured: CapturedTelemetry
) -> None:
    with Telemetry.for_run("run-mine", "plain", metrics=captured.metrics, out_dir=tmp_path) as mine:
        other = Telemetry.for_run("run-other", "plain", metrics=captured.metrics, out_dir=tmp_path)
        with other, other.workflow("theirs"):
            pass
        with mine.workflow("mine"):
            pass
    names = [r.name for r in read_trace_file(trace_file_path(tmp_path, "run-mine"))]
    assert names == ["invoke_workflow mine"]


def test_a_line_that_is_not_otlp_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    good = {"resourceSpans": []}
    path.write_text(json.dumps(good) + "\n" + '{"spans": []}\n')
    with pytest.raises(TraceFileError) as error:
        read_trace_file(path)
    assert error.value.line == 2
    assert "resourceSpans" in str(error.value)
    with pytest.raises(TraceFileError, match="no trace file"):
        resolve_trace_file("no-such-run", tmp_path)


def test_attribute_values_round_trip_through_any_value() -> None:
    from agentrig.core.telemetry import records_from_otlp_json, to_otlp_json

    record = SpanRecord(
        trace_id="0" * 31 + "1",
        span_id="0" * 15 + "2",
        parent_span_id="",
        name="x",
        kind="PRODUCER",
        start_unix_nano=1,
        end_unix_nano=2,
        attributes={"s": "text", "b": True, "i": 2**62, "f": 0.5, "l": ("a", "b"), "n": (1, 2)},
        status_code="ERROR",
        status_message="boom",
        scope_name="scope",
        scope_version="1",
        resource={"service.name": "t"},
    )
    assert records_from_otlp_json(json.loads(json.dumps(to_otlp_json([record])))) == [record]
