"""UsageOnce: an OpenInference LLM span loses its usage only when a chat span already counts it."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, TraceFlags

from agentrig.core.telemetry.usage_once import UsageOnce

TRACE = 0xABC


def _span(
    name: str,
    span_id: int,
    start: int,
    end: int,
    attributes: dict[str, str | int] | None = None,
    *,
    parent: int | None = 1,
) -> ReadableSpan:
    def context(span: int) -> SpanContext:
        return SpanContext(TRACE, span, is_remote=False, trace_flags=TraceFlags(1))

    return ReadableSpan(
        name=name,
        context=context(span_id),
        parent=context(parent) if parent is not None else None,
        attributes=attributes,
        start_time=start,
        end_time=end,
    )


CHAT: dict[str, str | int] = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 700}
OI_LLM: dict[str, str | int] = {
    "openinference.span.kind": "LLM",
    "llm.token_count.prompt": 700,
    "llm.token_count.total": 710,
    "llm.model_name": "reference",
}


def test_an_llm_span_beside_or_around_an_ended_chat_span_is_sent_without_usage() -> None:
    usage_once = UsageOnce()
    chat = _span("chat reference", 3, 110, 190, CHAT, parent=2)
    assert usage_once(chat) is chat  # the chat span keeps its usage
    sent = usage_once(_span("ChatOpenAI", 4, 100, 200, OI_LLM))
    assert dict(sent.attributes or {}) == {
        "openinference.span.kind": "LLM",
        "llm.model_name": "reference",
    }
    assert (sent.name, sent.start_time, sent.end_time) == ("ChatOpenAI", 100, 200)


def test_an_llm_span_no_chat_span_describes_keeps_its_usage() -> None:
    usage_once = UsageOnce()
    usage_once(_span("chat reference", 3, 110, 190, CHAT))
    later = _span("ChatOpenAI", 4, 300, 400, OI_LLM)  # another call, not through openai
    assert usage_once(later) is later
    usage_once(_span("invoke_workflow maintenance", 1, 0, 500, parent=None))  # the trace ends
    overlapping_but_forgotten = _span("ChatOpenAI", 5, 100, 200, OI_LLM)
    assert usage_once(overlapping_but_forgotten) is overlapping_but_forgotten
