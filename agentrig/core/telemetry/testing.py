"""Capture helpers for tests (yours and ours): spans in memory, a fresh registry, captured logs.

Example -- a pytest fixture::

    @pytest.fixture
    def telemetry():
        with capture_telemetry() as captured:
            yield captured

    def test_my_adapter(telemetry):
        with Telemetry.for_run("r1", "mine", metrics=telemetry.metrics) as t, t.workflow("w"):
            ...
        assert telemetry.span_names() == ["chat reference", "invoke_workflow w"]
        assert telemetry.sample("agentrig_tool_calls_total", framework="mine", ...) == 2

The captured spans are every span that ends in the process while the block runs (agentrig's
provider), so keep concurrent tests apart by run id (:meth:`CapturedTelemetry.records`).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.logs import add_run_context
from agentrig.core.telemetry.metrics import AgentrigMetrics
from agentrig.core.telemetry.records import SpanRecord
from agentrig.core.telemetry.tracing import setup_tracing

__all__ = ["CapturedTelemetry", "capture_telemetry"]


class _ExporterSink:
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def export_span(self, span: ReadableSpan) -> None:
        self.exporter.export((span,))

    def close(self) -> None:
        return None


@dataclass
class CapturedTelemetry:
    """What :func:`capture_telemetry` collected."""

    exporter: InMemorySpanExporter
    metrics: AgentrigMetrics
    logs: list[MutableMapping[str, Any]] = field(default_factory=list)

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def spans(self, run_id: str | None = None) -> list[ReadableSpan]:
        """Finished spans in end order, optionally of one run only."""
        spans = list(self.exporter.get_finished_spans())
        if run_id is None:
            return spans
        return [s for s in spans if (s.attributes or {}).get(semconv.AGENTRIG_RUN_ID) == run_id]

    def records(self, run_id: str | None = None) -> list[SpanRecord]:
        return [SpanRecord.from_readable(span) for span in self.spans(run_id)]

    def span_names(self, run_id: str | None = None) -> list[str]:
        return [span.name for span in self.spans(run_id)]

    def by_name(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name == name]

    def sample(self, name: str, **labels: str) -> float:
        """A sample's value from the captured registry (0.0 when the series does not exist)."""
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    def clear(self) -> None:
        self.exporter.clear()
        self.logs.clear()


@contextmanager
def capture_telemetry(*, capture_logs: bool = True) -> Iterator[CapturedTelemetry]:
    """Collect spans (in memory) and structlog events for the block; metrics go to a new registry.

    Pass ``captured.metrics`` to ``Telemetry.for_run(..., metrics=...)`` to assert on metric
    values. Log capture replaces the configured structlog processors for the block (it is
    :func:`structlog.testing.capture_logs`, with the run context added); turn it off with
    ``capture_logs=False`` to test the real log output.
    """
    state = setup_tracing()
    exporter = InMemorySpanExporter()
    sink = _ExporterSink(exporter)
    captured = CapturedTelemetry(exporter=exporter, metrics=AgentrigMetrics(CollectorRegistry()))
    state.router.add_sink(sink)
    try:
        if capture_logs:
            with structlog.testing.capture_logs(processors=[add_run_context]) as logs:
                captured.logs = logs
                yield captured
        else:
            yield captured
    finally:
        state.router.remove_sink(sink)
