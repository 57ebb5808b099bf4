"""agentrig's spelled-out attribute keys match OpenTelemetry's and OpenInference's constants."""

from __future__ import annotations

from openinference.semconv.trace import SpanAttributes
from opentelemetry.semconv._incubating.attributes import (
    error_attributes,
    gen_ai_attributes,
    messaging_attributes,
)
from opentelemetry.semconv.schemas import Schemas

from agentrig.core.telemetry import semconv


def test_genai_keys_match_the_semantic_conventions_package() -> None:
    for name in dir(semconv):
        if name.startswith("GEN_AI_"):
            assert getattr(semconv, name) == getattr(gen_ai_attributes, name), name
        if name.startswith("MESSAGING_"):
            assert getattr(semconv, name) == getattr(messaging_attributes, name), name
    assert semconv.ERROR_TYPE == error_attributes.ERROR_TYPE
    assert Schemas.V1_44_0.value == semconv.SCHEMA_URL
    ops = gen_ai_attributes.GenAiOperationNameValues
    assert (
        ops.INVOKE_WORKFLOW.value,
        ops.INVOKE_AGENT.value,
        ops.EXECUTE_TOOL.value,
        ops.CHAT.value,
    ) == (
        semconv.OP_INVOKE_WORKFLOW,
        semconv.OP_INVOKE_AGENT,
        semconv.OP_EXECUTE_TOOL,
        semconv.OP_CHAT,
    )


def test_openinference_keys_match_openinference() -> None:
    assert semconv.OPENINFERENCE_SPAN_KIND == SpanAttributes.OPENINFERENCE_SPAN_KIND
    assert semconv.OI_LLM_MODEL_NAME == SpanAttributes.LLM_MODEL_NAME
    assert semconv.OI_LLM_TOKEN_COUNT_PROMPT == SpanAttributes.LLM_TOKEN_COUNT_PROMPT
    assert semconv.OI_LLM_TOKEN_COUNT_COMPLETION == SpanAttributes.LLM_TOKEN_COUNT_COMPLETION
    assert semconv.OI_TOOL_NAME == SpanAttributes.TOOL_NAME
    assert semconv.OI_GRAPH_NODE_ID == SpanAttributes.GRAPH_NODE_ID
    assert semconv.OI_INPUT_VALUE == SpanAttributes.INPUT_VALUE
