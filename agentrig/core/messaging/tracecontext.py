"""W3C trace context in message headers, so one trace spans sender and receiver.

Every bus calls :func:`inject_trace_context` in ``send`` and ``publish``: the current OpenTelemetry
context (the active span) is written into ``Message.headers`` as ``traceparent`` / ``tracestate``
(and whatever else the globally configured propagator writes, such as ``baggage``). Headers the
caller already set win: a framework that mirrors a message from elsewhere keeps that trace.

A consumer continues the trace with :func:`extract_trace_context`::

    delivery = await bus.receive("operator", timeout=5.0)
    parent = extract_trace_context(delivery.message)
    with tracer.start_as_current_span("handle", context=parent):
        ...

Only the OpenTelemetry API is used; with no SDK configured, there is no active span and nothing is
injected.
"""

from __future__ import annotations

from opentelemetry import propagate
from opentelemetry.context import Context

from agentrig.core.messaging.message import Message

__all__ = ["extract_trace_context", "inject_trace_context"]


def inject_trace_context(message: Message, context: Context | None = None) -> Message:
    """``message`` with the trace context of ``context`` (default: the current one) in its headers.

    Returns the same object when there is nothing to add, so the common no-tracing path costs
    no copy.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    missing = {name: value for name, value in carrier.items() if name not in message.headers}
    if not missing:
        return message
    return message.model_copy(update={"headers": {**message.headers, **missing}})


def extract_trace_context(message: Message) -> Context:
    """The OpenTelemetry context that ``message``'s headers carry, to parent the receiver's spans.

    A message without trace headers gives an empty context: spans started with it begin a new
    trace.
    """
    return propagate.extract(message.headers)
