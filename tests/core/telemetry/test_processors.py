"""SpanRouter's enrichers: a framework's span processor rewrites its own spans before any sink.

OpenInference's Pydantic AI package is a span processor that rewrites every span with
``gen_ai.*`` attributes as it ends; agentrig runs it on the framework's instrumentation scope
only, first, so trace files and metrics see the rewritten spans and openai-v2's stay as they are.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from agentrig.core.telemetry.processors import SpanRouter


class Kind(SpanProcessor):
    """Like OpenInference's processors: replaces the ended span's attributes, in place."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def on_end(self, span: ReadableSpan) -> None:
        if self.fail:
            raise RuntimeError("test: the enricher broke")
        span._attributes = {**(span.attributes or {}), "openinference.span.kind": "LLM"}  # type: ignore[misc]


class Keep:
    """A sink keeping each span's attributes as it saw them."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []

    def export_span(self, span: ReadableSpan) -> None:
        self.seen.append((span.name, dict(span.attributes or {})))

    def close(self) -> None:
        return None


def _provider(router: SpanRouter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(router)
    return provider


def test_an_enricher_rewrites_its_scopes_spans_before_the_sinks_see_them() -> None:
    router, sink = SpanRouter(), Keep()
    router.add_sink(sink)
    router.add_enricher("pydantic-ai", Kind())
    provider = _provider(router)
    with provider.get_tracer("pydantic-ai").start_as_current_span("chat framework"):
        pass
    with provider.get_tracer("opentelemetry.instrumentation.openai_v2").start_as_current_span(
        "chat client", attributes={"gen_ai.operation.name": "chat"}
    ):
        pass
    assert sink.seen == [
        ("chat framework", {"openinference.span.kind": "LLM"}),
        ("chat client", {"gen_ai.operation.name": "chat"}),  # another scope: left alone
    ]


def test_a_failing_enricher_never_keeps_a_span_from_its_sinks() -> None:
    router, sink = SpanRouter(), Keep()
    router.add_sink(sink)
    router.add_enricher("pydantic-ai", Kind(fail=True))
    with _provider(router).get_tracer("pydantic-ai").start_as_current_span("chat framework"):
        pass
    assert sink.seen == [("chat framework", {})]
