"""A real OTLP/HTTP trace receiver on loopback for the export tests.

``POST /v1/traces`` with an ``application/x-protobuf`` body (gzip or deflate encoded or not) is
decoded with opentelemetry-proto's ``ExportTraceServiceRequest``, kept, and answered with an
``ExportTraceServiceResponse`` -- what a collector, Jaeger or Phoenix does with agentrig's export.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    return getattr(value, kind) if kind else None


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the receiver decoded it."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str


class OtlpReceiver:
    """``with OtlpReceiver() as receiver:`` serves ``receiver.endpoint`` until the block ends."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.content_types: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/v1/traces":
                    self.send_error(404, "only /v1/traces here")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver._lock:
                    receiver.requests.append(request)
                    receiver.content_types.append(self.headers.get("Content-Type", ""))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep the test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def run_spans(self, run_id: str) -> list[ReceivedSpan]:
        """The spans of one run (stamped ``agentrig.run_id``)."""
        return [s for s in self.spans() if s.attributes.get("agentrig.run_id") == run_id]

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            requests = list(self.requests)
        spans = []
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        spans.append(
                            ReceivedSpan(
                                name=span.name,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                attributes={a.key: _value(a.value) for a in span.attributes},
                                resource=resource,
                                scope=scope_spans.scope.name,
                            )
                        )
        return spans


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
