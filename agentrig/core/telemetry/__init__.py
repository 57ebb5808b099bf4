"""Telemetry: structlog logs, Prometheus metrics, OpenTelemetry traces and trace normalising.

One layer that every run and every adapter shares (docs/telemetry.md):

* :func:`setup_telemetry` once per process -- logging, the TracerProvider, instrumentations;
* :class:`Telemetry` per run -- labels, ``invoke_workflow`` / ``invoke_agent`` spans, the plant's
  ``tool_hook``, grading events, the run's JSONL trace file and metrics;
* :func:`normalise` -- a run's spans, from any instrumentation, as one step model;
* :func:`capture_telemetry` -- in-memory spans, a fresh registry and captured logs for tests.
"""

from __future__ import annotations

from agentrig.core.telemetry.context import (
    ContextThreadPoolExecutor,
    RunLabels,
    bind_role,
    bind_run,
    current_labels,
    start_thread,
    with_current_context,
)
from agentrig.core.telemetry.facade import Telemetry, setup_telemetry
from agentrig.core.telemetry.instrumentation import (
    content_capture_enabled,
    instrument_framework,
    instrument_openai,
)
from agentrig.core.telemetry.jsonl import (
    TRACE_FILE_NAME,
    JsonlSpanWriter,
    read_trace_file,
    resolve_trace_file,
    trace_file_path,
)
from agentrig.core.telemetry.logs import configure_logging, get_logger
from agentrig.core.telemetry.metrics import (
    AgentrigMetrics,
    MetricsServer,
    serve_metrics,
    write_textfile,
)
from agentrig.core.telemetry.normalise import Evaluation, RoleSegment, RunTrace, Step, normalise
from agentrig.core.telemetry.records import SpanRecord, records_from_otlp_json, to_otlp_json
from agentrig.core.telemetry.semconv import GENAI_SEMCONV_VERSION
from agentrig.core.telemetry.spans import ToolCallRecordLike
from agentrig.core.telemetry.testing import CapturedTelemetry, capture_telemetry
from agentrig.core.telemetry.tracing import (
    TracingState,
    force_flush,
    get_tracer,
    global_provider_is_ours,
    setup_tracing,
)
from agentrig.core.telemetry.tree import render_run_tree

__all__ = [
    "GENAI_SEMCONV_VERSION",
    "TRACE_FILE_NAME",
    "AgentrigMetrics",
    "CapturedTelemetry",
    "ContextThreadPoolExecutor",
    "Evaluation",
    "JsonlSpanWriter",
    "MetricsServer",
    "RoleSegment",
    "RunLabels",
    "RunTrace",
    "SpanRecord",
    "Step",
    "Telemetry",
    "ToolCallRecordLike",
    "TracingState",
    "bind_role",
    "bind_run",
    "capture_telemetry",
    "configure_logging",
    "content_capture_enabled",
    "current_labels",
    "force_flush",
    "get_logger",
    "get_tracer",
    "global_provider_is_ours",
    "instrument_framework",
    "instrument_openai",
    "normalise",
    "read_trace_file",
    "records_from_otlp_json",
    "render_run_tree",
    "resolve_trace_file",
    "serve_metrics",
    "setup_telemetry",
    "setup_tracing",
    "start_thread",
    "to_otlp_json",
    "trace_file_path",
    "with_current_context",
    "write_textfile",
]
