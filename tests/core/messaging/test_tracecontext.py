"""W3C trace context across the bus, asserted with an in-memory span exporter."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from agentrig.core.messaging import (
    MemoryMessageBus,
    extract_trace_context,
    inject_trace_context,
)
from tests.core.messaging.support import make_message


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Tracer:
    # A private provider: the global one belongs to whoever configures telemetry.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test")


async def test_the_receivers_span_continues_the_senders_trace(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    bus = MemoryMessageBus()
    with tracer.start_as_current_span("diagnostician hands off"):
        await bus.send(make_message())
    delivery = await bus.receive("operator", timeout=0)
    assert delivery is not None

    with tracer.start_as_current_span(
        "operator handles", context=extract_trace_context(delivery.message)
    ):
        pass

    sender, receiver = exporter.get_finished_spans()
    assert sender.context is not None
    assert receiver.context is not None
    assert receiver.parent is not None
    assert receiver.context.trace_id == sender.context.trace_id
    assert receiver.parent.span_id == sender.context.span_id
    assert receiver.parent.is_remote


def test_without_an_active_span_nothing_is_added() -> None:
    message = make_message()
    assert inject_trace_context(message) is message
    assert message.headers == {}


def test_headers_set_by_the_caller_are_kept(tracer: Tracer) -> None:
    theirs = "00-" + "c" * 32 + "-" + "d" * 16 + "-01"
    message = make_message(headers={"traceparent": theirs, "x-other": "1"})

    with tracer.start_as_current_span("send"):
        injected = inject_trace_context(message)
        plain = inject_trace_context(make_message(headers={"x-other": "1"}))

    assert injected.headers == {"traceparent": theirs, "x-other": "1"}
    assert plain.headers["x-other"] == "1"
    assert plain.headers["traceparent"].startswith("00-")


def test_a_message_without_trace_headers_starts_a_new_trace(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.start_as_current_span("handle", context=extract_trace_context(make_message())):
        pass
    [span] = exporter.get_finished_spans()
    assert span.parent is None
