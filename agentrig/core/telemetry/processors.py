"""The span processors agentrig adds to the process's TracerProvider.

* :class:`RunStampingProcessor` stamps every span, as it starts, with ``agentrig.run_id``,
  ``agentrig.framework``, ``agentrig.scenario`` and ``agentrig.role`` (``workflow`` outside any
  role's turn) from the context (or, when a
  framework lost the context but kept the parent span, from the parent span), so that concurrent
  runs in one process are kept apart in every exporter.
* :class:`SpanRouter` hands each finished span to the sinks registered for its run (the run's
  JSONL file, the run's metrics) and to process-wide sinks (test captures), after the span
  processors that rewrite a framework's own spans (:meth:`SpanRouter.add_transform`).

Both are cheap on purpose: they run for every span of every framework.
"""

from __future__ import annotations

import threading
from typing import Protocol

import structlog
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import get_current_span

from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.context import current_labels

__all__ = ["RunStampingProcessor", "SpanRouter", "SpanSink"]

logger = structlog.get_logger(__name__)

_STAMPED_KEYS = (
    semconv.AGENTRIG_RUN_ID,
    semconv.AGENTRIG_FRAMEWORK,
    semconv.AGENTRIG_SCENARIO,
    semconv.AGENTRIG_ROLE,
)


class SpanSink(Protocol):
    """Something that takes finished spans: a run's trace file, its metrics, a test capture."""

    def export_span(self, span: ReadableSpan) -> None: ...

    def close(self) -> None: ...


class RunStampingProcessor(SpanProcessor):
    """Stamp the run labels on each span at start; fill ``gen_ai.provider.name`` if missing."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        labels = current_labels()
        attributes = span.attributes or {}
        if labels is not None and labels.run_id:
            # Attributes the span was started with (an explicit role on a tool span) win.
            if semconv.AGENTRIG_RUN_ID not in attributes:
                span.set_attribute(semconv.AGENTRIG_RUN_ID, labels.run_id)
                span.set_attribute(semconv.AGENTRIG_FRAMEWORK, labels.framework)
                span.set_attribute(semconv.AGENTRIG_SCENARIO, labels.scenario)
            if semconv.AGENTRIG_ROLE not in attributes:
                # Outside a role's turn a span acts for the run as a whole (a framework's graph,
                # team or crew span): it still says so, so every span of a run has a role.
                span.set_attribute(semconv.AGENTRIG_ROLE, labels.role or semconv.WORKFLOW_ROLE)
        else:
            self._inherit_from_parent(span, parent_context)
        # The openai-v2 instrumentation writes gen_ai.system (the pre-1.37 name) unless the
        # gen_ai_latest_experimental opt-in was read before it was instrumented.
        if semconv.GEN_AI_SYSTEM in attributes and semconv.GEN_AI_PROVIDER_NAME not in attributes:
            span.set_attribute(semconv.GEN_AI_PROVIDER_NAME, attributes[semconv.GEN_AI_SYSTEM])

    @staticmethod
    def _inherit_from_parent(span: Span, parent_context: Context | None) -> None:
        # A framework that runs work in a bare thread may carry the OpenTelemetry context (its
        # own instrumentation does) but not ours: the parent span still knows the run.
        parent = get_current_span(parent_context)
        parent_attributes = getattr(parent, "attributes", None)
        if not parent_attributes or semconv.AGENTRIG_RUN_ID not in parent_attributes:
            return
        own = span.attributes or {}
        span.set_attributes(
            {
                key: parent_attributes[key]
                for key in _STAMPED_KEYS
                if key in parent_attributes and key not in own
            }
        )

    # on_end, shutdown and force_flush: the SpanProcessor base class's no-ops.


class SpanRouter(SpanProcessor):
    """Fan finished spans out to per-run sinks (by ``agentrig.run_id``) and process-wide sinks.

    Registration swaps immutable tuples under a lock, so ``on_end`` reads without locking.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_run: dict[str, tuple[SpanSink, ...]] = {}
        self._everywhere: tuple[SpanSink, ...] = ()
        self._transforms: tuple[tuple[str, SpanProcessor], ...] = ()

    def add_transform(self, scope_name: str, processor: SpanProcessor) -> None:
        """Run ``processor.on_end`` on the finished spans of one tracer before any sink sees them.

        For OpenInference packages that are span processors rewriting a framework's own spans in
        place (Agent Framework's): added to the provider after the router, the run's trace file
        and metrics would read the spans before they are rewritten. Only spans whose
        instrumentation scope is ``scope_name`` are handed over: the processor would rewrite
        openai-v2's ``chat`` spans as its own too.
        """
        with self._lock:
            self._transforms = (*self._transforms, (scope_name, processor))

    def add_run_sink(self, run_id: str, sink: SpanSink) -> None:
        with self._lock:
            by_run = dict(self._by_run)
            by_run[run_id] = (*by_run.get(run_id, ()), sink)
            self._by_run = by_run

    def remove_run_sinks(self, run_id: str) -> tuple[SpanSink, ...]:
        """Unregister and return the sinks of ``run_id`` (the caller closes them)."""
        with self._lock:
            by_run = dict(self._by_run)
            removed = by_run.pop(run_id, ())
            self._by_run = by_run
        return removed

    def add_sink(self, sink: SpanSink) -> None:
        with self._lock:
            self._everywhere = (*self._everywhere, sink)

    def remove_sink(self, sink: SpanSink) -> None:
        with self._lock:
            self._everywhere = tuple(s for s in self._everywhere if s is not sink)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        scope = span.instrumentation_scope.name if span.instrumentation_scope else None
        for scope_name, transform in self._transforms:
            if scope != scope_name:
                continue
            try:
                transform.on_end(span)
            except Exception:
                # As for sinks: a span processor's bug must not fail the agent's step.
                logger.exception("span transform failed", transform=repr(transform))
        attributes = span.attributes
        run_id = attributes.get(semconv.AGENTRIG_RUN_ID) if attributes else None
        sinks = self._everywhere
        if isinstance(run_id, str):
            sinks += self._by_run.get(run_id, ())
        for sink in sinks:
            try:
                sink.export_span(span)
            except Exception:
                # span.end() runs inside the framework's code: a full disk must not fail the
                # agent's step. The failure is logged with the sink and the span.
                logger.exception("span sink failed", sink=repr(sink), span_name=span.name)

    def shutdown(self) -> None:
        with self._lock:
            sinks = [sink for group in self._by_run.values() for sink in group]
            self._by_run = {}
        for sink in sinks:
            sink.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
