"""Each LLM call's token usage on exactly one exported span.

With OpenInference on (LangChain, AutoGen, CrewAI), one model call is described twice: by the
framework's OpenInference ``LLM`` span (``llm.token_count.*``) and by openai-v2's ``chat`` span
(``gen_ai.usage.*``), which sits inside it (AutoGen) or beside it in time (LangChain's LLM span
is not made current). A receiver that sums usage over a trace then counts the call twice: Arize
Phoenix synthesises ``llm.token_count.*`` and span kind LLM from ``gen_ai.*`` (its
``phoenix/trace/gen_ai/conversion.py``) and adds every LLM span into a trace's cumulative counts.
Measured with Phoenix 20.26.1: trace totals doubled for LangChain and AutoGen runs, project totals
for LangChain (they skip an LLM span with an LLM child, which covers AutoGen's nesting only).

The ``chat`` span keeps the usage: it is the GenAI convention every OpenTelemetry backend reads,
Phoenix converts it, and it is what agentrig's results count. :class:`UsageOnce`, applied to spans
on their way to the OTLP exporter only, removes the usage keys from an OpenInference ``LLM`` span
when a ``chat`` span of the same trace that overlaps it in time has already ended (the same
pairing :func:`~agentrig.core.telemetry.normalise.normalise` uses). The run's ``trace.jsonl``
keeps every attribute as recorded; the step model de-duplicates on its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from opentelemetry.sdk.trace import ReadableSpan

from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.metrics import is_llm_client_span

__all__ = ["USAGE_KEY_PREFIXES", "UsageOnce", "without_usage"]

USAGE_KEY_PREFIXES: Final = ("llm.token_count.", "gen_ai.usage.")
"""Attribute keys that carry a call's token usage, in OpenInference and GenAI spelling."""


def without_usage(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` without token-usage attributes (everything else kept)."""
    attributes = {
        key: value
        for key, value in (span.attributes or {}).items()
        if not key.startswith(USAGE_KEY_PREFIXES)
    }
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class UsageOnce:
    """A span transform: strip usage from OpenInference LLM spans a ``chat`` span already counts.

    Keeps, per trace, the start and end of the ``chat`` spans that ended; a trace is forgotten when
    its root span ends, and at most ``max_traces`` are remembered.
    """

    def __init__(self, max_traces: int = 1024) -> None:
        self._max_traces = max_traces
        self._lock = threading.Lock()
        self._chats: OrderedDict[int, list[tuple[int, int]]] = OrderedDict()

    def __call__(self, span: ReadableSpan) -> ReadableSpan:
        trace_id = span.context.trace_id if span.context is not None else 0
        start, end = span.start_time or 0, span.end_time or 0
        if is_llm_client_span(span):
            with self._lock:
                self._chats.setdefault(trace_id, []).append((start, end))
                self._chats.move_to_end(trace_id)
                while len(self._chats) > self._max_traces:
                    self._chats.popitem(last=False)
            return span
        attributes = span.attributes or {}
        if span.parent is None:
            with self._lock:
                self._chats.pop(trace_id, None)
        if attributes.get(semconv.OPENINFERENCE_SPAN_KIND) != "LLM" or not any(
            key.startswith(USAGE_KEY_PREFIXES) for key in attributes
        ):
            return span
        with self._lock:
            chats = list(self._chats.get(trace_id, ()))
        if any(chat_start < end and start < chat_end for chat_start, chat_end in chats):
            return without_usage(span)
        return span
