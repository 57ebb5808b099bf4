"""OTLP export off the event loop: one daemon thread, every attempt bounded, a dead collector logged once.

What a caller may rely on (:class:`BackgroundExportProcessor`):

* ``span.end()`` only appends to a bounded queue: no network, no lock held across I/O, so a
  span ending inside the async runner never blocks its event loop, whatever the collector does;
* :meth:`~BackgroundExportProcessor.request_export` (what a run's end calls) only wakes the export
  thread; :meth:`~BackgroundExportProcessor.force_flush` waits for it, at most ``timeout_millis``,
  and never exports on the caller's thread (the SDK's ``BatchSpanProcessor.force_flush`` does, and
  ignores its timeout: with nothing listening that blocked every concurrent run for seconds);
* each export attempt is bounded by the exporter's own timeout (:data:`DEFAULT_EXPORT_TIMEOUT_S`
  unless ``OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT`` says otherwise);
* a failed export logs **one** warning per processor, with the exporter's reason; spans are then
  dropped (and counted) for :data:`RETRY_AFTER_S` before the collector is tried again, and a
  recovery is logged at INFO. The exporter's own per-retry log lines are folded into that warning;
* :meth:`~BackgroundExportProcessor.shutdown` (at interpreter exit) sends what is left when the
  collector answers, and gives up at once when it does not.

Runs, their trace files and their metrics never depend on the collector.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

import structlog
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = [
    "DEFAULT_EXPORT_TIMEOUT_S",
    "EXPORTER_LOGGERS",
    "RETRY_AFTER_S",
    "BackgroundExportProcessor",
]

logger = structlog.get_logger(__name__)

DEFAULT_EXPORT_TIMEOUT_S: Final = 3.0
"""Bound of one export attempt, retries included (the SDK's default is 10 s)."""
RETRY_AFTER_S: Final = 30.0
"""After a failed export, spans are dropped for this long before the collector is tried again."""
SHUTDOWN_TIMEOUT_S: Final = 2.0
"""At exit, how long an answering collector gets for the last spans."""

EXPORTER_LOGGERS: Final = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
)
"""Where the OTLP exporters log each retry; folded into one warning on the export thread."""

SpanTransform = Callable[[ReadableSpan], ReadableSpan]


class _ExporterLogFold(logging.Filter):
    """Hold back the exporter's log records on the export thread, keeping the first one's text.

    Records from any other thread pass untouched: only the retries of our own attempts are
    summarised by the one warning.
    """

    def __init__(self) -> None:
        super().__init__()
        self.thread_id: int | None = None
        self.first_message = ""
        self.attempt_failed = False

    def filter(self, record: logging.LogRecord) -> bool:
        if threading.get_ident() != self.thread_id:
            return True
        if not self.attempt_failed:  # the first line names the cause; later ones say "retrying"
            self.first_message = record.getMessage()
        self.attempt_failed = True
        return False


class BackgroundExportProcessor(SpanProcessor):
    """Hand finished spans to ``exporter`` from one background thread (see the module docstring).

    Args:
        exporter: an OTLP (or any) span exporter, built with a bounded timeout.
        description: what the warning names, e.g. ``"http/protobuf http://127.0.0.1:4318/..."``.
        transform: applied to each span before it is queued (e.g. the token de-duplication).
        schedule_delay_s: how often queued spans are sent when nobody asks sooner.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        description: str = "",
        transform: SpanTransform | None = None,
        schedule_delay_s: float = 1.0,
        max_queue_size: int = 8192,
        max_batch_size: int = 512,
        retry_after_s: float = RETRY_AFTER_S,
        shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S,
        exporter_loggers: Sequence[str] = EXPORTER_LOGGERS,
    ) -> None:
        self.exporter = exporter
        self.description = description
        self._transform = transform
        self._schedule_delay_s = schedule_delay_s
        self._max_queue_size = max_queue_size
        self._max_batch_size = max_batch_size
        self._retry_after_s = retry_after_s
        self._shutdown_timeout_s = shutdown_timeout_s
        self._queue: deque[ReadableSpan] = deque()
        self._wake = threading.Event()
        self._flush_waiters: list[threading.Event] = []
        self._waiters_lock = threading.Lock()
        self._stopping = False
        self._exporting = False
        self._failed_at: float | None = None  # monotonic time of the last failure, None if healthy
        self._warned = False
        self.exported = 0
        self.dropped = 0
        self.failures = 0
        self._fold = _ExporterLogFold()
        self._folded_loggers = [logging.getLogger(name) for name in exporter_loggers]
        for folded in self._folded_loggers:
            folded.addFilter(self._fold)
        self._thread = threading.Thread(target=self._work, name="agentrig-otlp-export", daemon=True)
        self._thread.start()
        self._fold.thread_id = self._thread.ident

    # ------------------------------------------------------------ the caller's side (cheap)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self._stopping or not span.context.trace_flags.sampled:
            return
        if self._transform is not None:
            span = self._transform(span)
        if len(self._queue) >= self._max_queue_size:
            self.dropped += 1  # the queue is bounded: memory stays flat if the collector lags
            return
        self._queue.append(span)
        if len(self._queue) >= self._max_batch_size:
            self._wake.set()

    def request_export(self) -> None:
        """Ask the export thread to send what is queued now; returns at once."""
        self._wake.set()

    @property
    def collector_down(self) -> bool:
        """The last export failed and the collector is not due to be tried again yet."""
        failed_at = self._failed_at
        return failed_at is not None and time.monotonic() - failed_at < self._retry_after_s

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait (at most ``timeout_millis``) until the spans queued so far were handled.

        "Handled" includes dropped because the collector is down; the export thread does the
        work, so calling this from an event loop still blocks that loop: don't.
        """
        if self._stopping or not self._thread.is_alive():
            return not self._queue
        done = threading.Event()
        with self._waiters_lock:
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(timeout_millis / 1000) and not self.collector_down

    def shutdown(self) -> None:
        """Stop the thread: send the rest if the collector answers, else give up at once."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        dead = self.collector_down or (self._exporting and self._fold.attempt_failed)
        self._thread.join(0.05 if dead else self._shutdown_timeout_s)
        # Shutting the exporter down also aborts a retry it is sleeping in.
        self.exporter.shutdown()
        self._thread.join(0.5)
        for folded in self._folded_loggers:
            folded.removeFilter(self._fold)
        if self._queue:
            self.dropped += len(self._queue)
            self._queue.clear()

    # ------------------------------------------------------------ the export thread

    def _work(self) -> None:
        while not self._stopping:
            self._wake.wait(self._schedule_delay_s)
            self._wake.clear()
            self._round()
        if not self.collector_down:
            self._round()

    def _round(self) -> None:
        with self._waiters_lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        while self._queue:
            batch = [
                self._queue.popleft() for _ in range(min(self._max_batch_size, len(self._queue)))
            ]
            if self.collector_down:
                self.dropped += len(batch)
            else:
                self._export(batch)
        for waiter in waiters:
            waiter.set()

    def _export(self, batch: list[ReadableSpan]) -> None:
        started = time.monotonic()
        self._fold.first_message, self._fold.attempt_failed = "", False
        try:
            with self._attempt():
                ok = self.exporter.export(batch) is SpanExportResult.SUCCESS
            reason = self._fold.first_message or "the exporter reported a failure"
        except Exception as error:  # noqa: BLE001  # an exporter bug must not kill the export thread
            ok, reason = False, f"{type(error).__name__}: {error}"
        if ok:
            self.exported += len(batch)
            if self._failed_at is not None:
                logger.info(
                    "telemetry: OTLP export works again",
                    otlp=self.description,
                    dropped_spans=self.dropped,
                )
                self._failed_at = None
            return
        self.failures += 1
        self.dropped += len(batch)
        self._failed_at = time.monotonic()
        log = logger.debug if self._warned else logger.warning
        self._warned = True
        log(
            "telemetry: OTLP export failed; runs, trace files and metrics are unaffected, "
            f"spans for the collector are dropped and it is tried again every {self._retry_after_s:g} s",
            otlp=self.description,
            reason=reason,
            attempt_s=round(time.monotonic() - started, 3),
        )

    @contextmanager
    def _attempt(self) -> Iterator[None]:
        self._exporting = True
        try:
            yield
        finally:
            self._exporting = False
