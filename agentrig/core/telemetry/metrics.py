"""Prometheus metrics, always in an explicit :class:`~prometheus_client.CollectorRegistry`.

=============================================  =========  =========================================
metric                                         type       labels
=============================================  =========  =========================================
``agentrig_runs_total``                        counter    framework, scenario, status
``agentrig_run_duration_seconds``              histogram  framework, scenario
``agentrig_tool_calls_total``                  counter    framework, tool, status
``agentrig_tool_duration_seconds``             histogram  framework, tool
``agentrig_safety_violations_total``           counter    framework
``agent_tasks_processed_total``                counter    agent_id, framework, status
``agent_task_duration_seconds``                histogram  agent_id, framework
``gen_ai_client_token_usage``                  histogram  framework, gen_ai_token_type,
                                                          gen_ai_request_model, gen_ai_operation_name,
                                                          gen_ai_provider_name
``gen_ai_client_operation_duration_seconds``   histogram  framework, gen_ai_request_model,
                                                          gen_ai_operation_name, gen_ai_provider_name,
                                                          error_type
``agentrig_llm_errors_total``                  counter    framework, error_type
=============================================  =========  =========================================

The two ``gen_ai_client_*`` histograms follow the GenAI metric conventions: names, units, the
advised bucket boundaries, and attribute names translated the way OpenTelemetry's Prometheus
exporter does (``gen_ai.token.type`` -> ``gen_ai_token_type``, ``error.type`` -> ``error_type``).
They are recorded from finished ``chat`` spans (:class:`LlmSpanMetrics`), so every framework is
counted by the same code whatever issued the call. ``agent_tasks_processed_total`` and
``agent_task_duration_seconds`` are the per-agent metrics the book chapter names: one task is one
role's turn (``Telemetry.agent``), ``agent_id`` is the role (monitor, diagnostician, operator) and
``status`` ``ok`` or ``error``. Tool metrics come from the plant executor's hook (``spans.py``).
Nothing is ever registered in prometheus_client's global default registry.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from opentelemetry.sdk.trace import ReadableSpan
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client import write_to_textfile as _write_to_textfile

from agentrig.core.telemetry import semconv

__all__ = [
    "AgentrigMetrics",
    "LlmCall",
    "LlmSpanMetrics",
    "MetricsServer",
    "is_llm_client_span",
    "serve_metrics",
    "write_textfile",
]

# The advised bucket boundaries (ExplicitBucketBoundaries) of gen_ai.client.token.usage and
# gen_ai.client.operation.duration in the GenAI metric conventions: powers of 4 up to 4^13, and
# 0.01 s doubling up to 81.92 s.
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
LLM_DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
AGENT_TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250)
RUN_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500)
TOOL_DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


def is_llm_client_span(span: ReadableSpan) -> bool:
    """True for a GenAI client inference span (openai-v2's ``chat``), not an OpenInference one.

    OpenInference can also write ``gen_ai.*`` attributes on its LLM spans; those wrap the same
    call, so counting them too would count each call twice.
    """
    attributes = span.attributes or {}
    return (
        attributes.get(semconv.GEN_AI_OPERATION_NAME) in semconv.LLM_OPERATIONS
        and semconv.OPENINFERENCE_SPAN_KIND not in attributes
    )


class AgentrigMetrics:
    """Every agentrig metric, registered in ``registry`` (a new one when not given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "agentrig_runs",
            "Runs finished, by outcome (passed, failed, error).",
            ["framework", "scenario", "status"],
            registry=r,
        )
        self.run_duration = Histogram(
            "agentrig_run_duration_seconds",
            "Wall time of a run, from set-up to grading.",
            ["framework", "scenario"],
            buckets=RUN_DURATION_BUCKETS,
            registry=r,
        )
        self.tool_calls = Counter(
            "agentrig_tool_calls",
            "Tool calls through the plant executor, by status (ok, error, refused, replayed).",
            ["framework", "tool", "status"],
            registry=r,
        )
        self.tool_duration = Histogram(
            "agentrig_tool_duration_seconds",
            "Duration of a tool call in the plant executor.",
            ["framework", "tool"],
            buckets=TOOL_DURATION_BUCKETS,
            registry=r,
        )
        self.safety_violations = Counter(
            "agentrig_safety_violations",
            "Tool calls refused by a safety interlock (attempted unsafe actions).",
            ["framework"],
            registry=r,
        )
        self.agent_tasks = Counter(
            "agent_tasks_processed",
            "Tasks (role turns) an agent finished, by status (ok, error).",
            ["agent_id", "framework", "status"],
            registry=r,
        )
        self.agent_task_duration = Histogram(
            "agent_task_duration_seconds",
            "Duration of an agent's task (one role turn).",
            ["agent_id", "framework"],
            buckets=AGENT_TASK_BUCKETS,
            registry=r,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used per LLM call (gen_ai.client.token.usage).",
            [
                "framework",
                "gen_ai_token_type",
                "gen_ai_request_model",
                "gen_ai_operation_name",
                "gen_ai_provider_name",
            ],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "Duration of an LLM call as the client saw it (gen_ai.client.operation.duration).",
            [
                "framework",
                "gen_ai_request_model",
                "gen_ai_operation_name",
                "gen_ai_provider_name",
                "error_type",
            ],
            buckets=LLM_DURATION_BUCKETS,
            registry=r,
        )
        self.llm_errors = Counter(
            "agentrig_llm_errors",
            "LLM calls that failed, by error type.",
            ["framework", "error_type"],
            registry=r,
        )

    def record_run(self, framework: str, scenario: str, status: str, duration_s: float) -> None:
        self.runs.labels(framework, scenario, status).inc()
        self.run_duration.labels(framework, scenario).observe(duration_s)

    def record_tool_call(
        self, framework: str, tool: str, status: str, duration_s: float, safety_violation: bool
    ) -> None:
        self.tool_calls.labels(framework, tool, status).inc()
        self.tool_duration.labels(framework, tool).observe(duration_s)
        if safety_violation:
            self.safety_violations.labels(framework).inc()

    def record_agent_task(
        self, framework: str, agent_id: str, status: str, duration_s: float
    ) -> None:
        """Count one role's turn (status ``ok`` or ``error``) and its duration."""
        self.agent_tasks.labels(agent_id, framework, status).inc()
        self.agent_task_duration.labels(agent_id, framework).observe(duration_s)

    def record_llm_span(self, span: ReadableSpan) -> None:
        """Record one finished LLM client span; other spans are ignored."""
        call = LlmCall.from_span(span)
        if call is not None:
            self.record_llm_call(call)

    def record_llm_call(self, call: LlmCall) -> None:
        """Record one LLM call: its duration, error type and token counts."""
        self.operation_duration.labels(
            call.framework, call.model, call.operation, call.provider, call.error_type
        ).observe(call.duration_s)
        if call.error_type:
            self.llm_errors.labels(call.framework, call.error_type).inc()
        for token_type, count in (("input", call.input_tokens), ("output", call.output_tokens)):
            if count is not None:
                self.token_usage.labels(
                    call.framework, token_type, call.model, call.operation, call.provider
                ).observe(count)


@dataclass(frozen=True)
class LlmCall:
    """What the metrics keep of one LLM client span (plain values: it can cross processes)."""

    framework: str
    model: str
    operation: str
    provider: str
    error_type: str
    duration_s: float
    input_tokens: int | None
    output_tokens: int | None

    @classmethod
    def from_span(cls, span: ReadableSpan) -> LlmCall | None:
        """The call a finished span records, or None for a span that is not an LLM client call."""
        if not is_llm_client_span(span):
            return None
        attributes = span.attributes or {}
        input_tokens = attributes.get(semconv.GEN_AI_USAGE_INPUT_TOKENS)
        output_tokens = attributes.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)
        return cls(
            framework=str(attributes.get(semconv.AGENTRIG_FRAMEWORK, "unknown")),
            model=str(attributes.get(semconv.GEN_AI_REQUEST_MODEL, "")),
            operation=str(attributes.get(semconv.GEN_AI_OPERATION_NAME, "")),
            provider=str(
                attributes.get(
                    semconv.GEN_AI_PROVIDER_NAME, attributes.get(semconv.GEN_AI_SYSTEM, "")
                )
            ),
            error_type=str(attributes.get(semconv.ERROR_TYPE, "")),
            duration_s=max((span.end_time or 0) - (span.start_time or 0), 0) / 1e9,
            input_tokens=input_tokens if isinstance(input_tokens, int) else None,
            output_tokens=output_tokens if isinstance(output_tokens, int) else None,
        )


class LlmSpanMetrics:
    """A span sink recording LLM client spans into an :class:`AgentrigMetrics`."""

    def __init__(self, metrics: AgentrigMetrics) -> None:
        self.metrics = metrics

    def export_span(self, span: ReadableSpan) -> None:
        self.metrics.record_llm_span(span)

    def close(self) -> None:
        return None


class MetricsServer:
    """A running ``/metrics`` endpoint; :meth:`stop` shuts it down."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and release the port. Idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_metrics(
    registry: CollectorRegistry, port: int = 0, host: str = "127.0.0.1"
) -> MetricsServer:
    """Serve ``registry`` for Prometheus to scrape at ``http://host:port/metrics``.

    ``port=0`` picks a free port (see :attr:`MetricsServer.port`). Loopback by default: pass
    ``host="0.0.0.0"`` deliberately to expose it beyond this machine.
    """
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(server, thread)


def write_textfile(registry: CollectorRegistry, path: Path | str) -> Path:
    """Write ``registry`` in the Prometheus text format, atomically (node-exporter textfile)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_to_textfile(os.fspath(path), registry)
    return path
