"""OTLP export never slows a run: it happens on one background thread, bounded, warned about once.

Structural proofs rather than timings: an exporter that hangs until released shows that ending
spans and closing runs on the event loop never wait for it; a recording processor shows that a
run's end never flushes the provider on the event loop; a real OTLP exporter pointed at a port
nobody listens on shows one warning for many batches and no retry noise. The end-to-end timings
(``agentrig run`` / ``compare`` with ``--otlp-endpoint http://127.0.0.1:9``) are in
``benchmarks/otlp_export.py`` and ``test_dead_collector_cli.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentrig.core.telemetry import CapturedTelemetry, Telemetry
from agentrig.core.telemetry.tracing import tracing_state

if TYPE_CHECKING:
    from agentrig.core.telemetry.export import BackgroundExportProcessor

DEAD_ENDPOINT = "http://127.0.0.1:9/v1/traces"  # the discard port: nothing listens here


class HangingExporter(SpanExporter):
    """A collector that takes the request and does not answer until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: set[int] = set()
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.threads.add(threading.get_ident())
        self.entered.set()
        self.release.wait(30)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


@pytest.fixture
def hanging() -> Iterator[tuple[TracerProvider, BackgroundExportProcessor, HangingExporter]]:
    from agentrig.core.telemetry.export import BackgroundExportProcessor

    exporter = HangingExporter()
    processor = BackgroundExportProcessor(exporter, schedule_delay_s=0.01, max_batch_size=2)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    yield provider, processor, exporter
    exporter.release.set()
    provider.shutdown()


async def test_spans_end_and_runs_close_while_the_collector_hangs(
    hanging: tuple[TracerProvider, BackgroundExportProcessor, HangingExporter],
) -> None:
    provider, processor, exporter = hanging
    tracer = provider.get_tracer("test")
    for index in range(3):
        tracer.start_span(f"before {index}").end()
    processor.request_export()
    assert await asyncio.to_thread(exporter.entered.wait, 10)

    # The collector now holds the export thread; the loop goes on ending spans and closing runs.
    for index in range(50):
        tracer.start_span(f"while hanging {index}").end()
        processor.request_export()
    assert not exporter.release.is_set()
    assert exporter.exported == 0
    assert threading.get_ident() not in exporter.threads

    exporter.release.set()
    assert await asyncio.to_thread(processor.force_flush, 10_000)
    assert exporter.exported == 53
    assert processor.dropped == 0


class FlushRecorder(SpanProcessor):
    """Records which thread asked the provider to flush (the SDK's flush exports on the caller's)."""

    def __init__(self) -> None:
        self.flushing_threads: list[int] = []

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self.flushing_threads.append(threading.get_ident())
        return True


async def test_a_runs_end_never_flushes_the_provider_on_the_event_loop(
    captured: CapturedTelemetry,
) -> None:
    recorder = FlushRecorder()
    tracing_state().provider.add_span_processor(recorder)  # stays, recording, for the session
    with Telemetry.for_run("run-x1", "plain", metrics=captured.metrics) as telemetry:
        with telemetry.workflow("maintenance"), telemetry.agent("monitor"):
            await asyncio.sleep(0)
        telemetry.record_run("passed", 0.1)
    assert threading.get_ident() not in recorder.flushing_threads
    assert captured.span_names("run-x1") == ["invoke_agent monitor", "invoke_workflow maintenance"]


def test_a_dead_collector_costs_one_warning_and_no_retry_noise(
    captured: CapturedTelemetry, caplog: pytest.LogCaptureFixture
) -> None:
    from agentrig.core.telemetry.export import BackgroundExportProcessor

    processor = BackgroundExportProcessor(
        OTLPSpanExporter(endpoint=DEAD_ENDPOINT, timeout=1.0),
        description=f"http/protobuf {DEAD_ENDPOINT}",
        schedule_delay_s=60,  # only explicit requests send
    )
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    caplog.set_level(logging.DEBUG, logger="opentelemetry.exporter")
    try:
        for batch in range(4):  # four runs ending, one after another
            for index in range(5):
                tracer.start_span(f"run {batch} span {index}").end()
            assert not processor.force_flush(10_000)  # handled, but not delivered
    finally:
        provider.shutdown()

    warnings = [log for log in captured.logs if log["log_level"] == "warning"]
    assert len(warnings) == 1, warnings
    (warning,) = warnings
    assert warning["event"].startswith("telemetry: OTLP export failed")
    assert warning["otlp"] == f"http/protobuf {DEAD_ENDPOINT}"
    assert warning["reason"]  # the exporter's own words, e.g. connection refused
    # One attempt; the next batches were dropped at once while the collector is known down.
    assert (processor.failures, processor.exported, processor.dropped) == (1, 0, 20)
    # The exporter's per-retry lines were folded into the warning, not logged.
    assert [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")] == []
