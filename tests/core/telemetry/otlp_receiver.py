"""A real OTLP/HTTP trace receiver, in-process: what a collector or Phoenix is sent, decoded.

It serves ``POST /v1/traces`` (``application/x-protobuf``), decodes each
``ExportTraceServiceRequest`` with opentelemetry-proto and keeps the spans as plain dicts.
:func:`phoenix_token_totals` sums token usage the way Arize Phoenix does: per span,
``llm.token_count.*`` as sent, else synthesised from ``gen_ai.usage.*``
(``phoenix/trace/gen_ai/conversion.py``, ``get_openinference_usage_attributes``), then summed
over every span of the trace, as Phoenix's per-trace cumulative counts are. (Phoenix's project
totals also skip an LLM span that has an LLM child; a plain sum over spans is the stricter check.)
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    span_id: str
    parent_span_id: str
    scope: str
    attributes: dict[str, Any]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    return getattr(value, kind) if kind else None


class OtlpReceiver:
    """``with OtlpReceiver() as receiver:`` -- spans arrive in :attr:`spans`."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver._take(ExportTraceServiceRequest.FromString(body))
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The base URL, as ``--otlp-endpoint`` takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _take(self, request: ExportTraceServiceRequest) -> None:
        spans = [
            ReceivedSpan(
                name=span.name,
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                scope=scope_spans.scope.name,
                attributes={kv.key: _value(kv.value) for kv in span.attributes},
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._lock:
            self.requests += 1
            self.spans.extend(spans)

    def run_spans(self, run_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.attributes.get("agentrig.run_id") == run_id]

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def phoenix_token_totals(spans: list[ReceivedSpan]) -> tuple[int, int]:
    """(prompt, completion) tokens summed over ``spans`` as Phoenix's cumulative counts are."""
    prompt = completion = 0
    for span in spans:
        a = span.attributes
        prompt += int(a.get("llm.token_count.prompt", a.get("gen_ai.usage.input_tokens", 0)))
        completion += int(
            a.get("llm.token_count.completion", a.get("gen_ai.usage.output_tokens", 0))
        )
    return prompt, completion
