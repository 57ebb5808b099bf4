"""The span router's transforms: a framework's span processor rewrites its own spans, first."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from agentrig.core.telemetry.processors import SpanRouter


class MarkSpans(SpanProcessor):
    """Rewrites a finished span in place, as OpenInference's Agent Framework processor does."""

    def on_end(self, span: ReadableSpan) -> None:
        span._attributes = {**(span.attributes or {}), "marked": True}  # type: ignore[attr-defined]


class Broken(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("test: a transform with a bug")


class Seen:
    """A sink keeping what each span looked like when it was handed over."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, Any]]] = []

    def export_span(self, span: ReadableSpan) -> None:
        self.spans.append((span.name, dict(span.attributes or {})))

    def close(self) -> None:
        pass


def test_a_transform_rewrites_its_tracers_spans_before_any_sink_sees_them() -> None:
    provider, router, seen = TracerProvider(), SpanRouter(), Seen()
    provider.add_span_processor(router)
    router.add_sink(seen)
    router.add_transform("some_framework", Broken())
    router.add_transform("some_framework", MarkSpans())
    with provider.get_tracer("some_framework").start_as_current_span("chat m"):
        pass
    with provider.get_tracer("opentelemetry.instrumentation.openai_v2").start_as_current_span(
        "chat m"
    ):
        pass
    # The framework's span was rewritten (despite the broken transform before it); the other
    # tracer's span of the same name was left as it was.
    assert seen.spans == [("chat m", {"marked": True}), ("chat m", {})]
