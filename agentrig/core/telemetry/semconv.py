"""Span names and attribute keys: the OpenTelemetry GenAI conventions agentrig follows, and its own.

agentrig follows the GenAI semantic conventions as published in OpenTelemetry semantic conventions
**v1.44.0** (the version of ``opentelemetry-semantic-conventions`` 0.66b2 pinned in
constraints.txt); :data:`SCHEMA_URL` is set on agentrig's tracer. ``chat`` spans come from
``opentelemetry-instrumentation-openai-v2`` with ``OTEL_SEMCONV_STABILITY_OPT_IN=
gen_ai_latest_experimental`` and carry that package's schema URL (1.37.0); the attribute names
used here are the same in both.

Keys are spelled out rather than imported from ``opentelemetry.semconv._incubating`` because that
module is private and renames things between releases; a test checks them against it.
"""

from __future__ import annotations

from typing import Final

GENAI_SEMCONV_VERSION: Final = "1.44.0"
SCHEMA_URL: Final = f"https://opentelemetry.io/schemas/{GENAI_SEMCONV_VERSION}"
TRACER_NAME: Final = "agentrig"

# ---- gen_ai.operation.name values and the span names built from them
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_CHAT: Final = "chat"
LLM_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content"})

# ---- GenAI attributes
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # the pre-1.37 name of gen_ai.provider.name
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
ERROR_TYPE: Final = "error.type"

# ---- the evaluation event (grading results, on the workflow span)
EVENT_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# ---- messaging (consumers continuing a trace that crossed the bus)
MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_OPERATION_NAME: Final = "messaging.operation.name"
MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
MESSAGING_DESTINATION_NAME: Final = "messaging.destination.name"
MESSAGING_MESSAGE_ID: Final = "messaging.message.id"
MESSAGING_MESSAGE_CONVERSATION_ID: Final = "messaging.message.conversation_id"
MESSAGING_CONSUMER_GROUP_NAME: Final = "messaging.consumer.group.name"

# ---- agentrig's own attributes: which run, framework and role a span belongs to
AGENTRIG_RUN_ID: Final = "agentrig.run_id"
AGENTRIG_FRAMEWORK: Final = "agentrig.framework"
AGENTRIG_ROLE: Final = "agentrig.role"
AGENTRIG_SCENARIO: Final = "agentrig.scenario"
AGENTRIG_TOOL_STATUS: Final = "agentrig.tool.status"
AGENTRIG_TOOL_REFUSED_REASON: Final = "agentrig.tool.refused_reason"
AGENTRIG_TOOL_SAFETY_VIOLATION: Final = "agentrig.tool.safety_violation"
AGENTRIG_TOOL_REPLAYED: Final = "agentrig.tool.replayed"
AGENTRIG_TOOL_IDEMPOTENCY_KEY: Final = "agentrig.tool.idempotency_key"
AGENTRIG_RUN_STATUS: Final = "agentrig.run.status"
AGENTRIG_MESSAGE_TYPE: Final = "agentrig.message.type"
WORKFLOW_ROLE: Final = "workflow"
"""``agentrig.role`` of spans that act for the run as a whole, not one role: the workflow root
and whatever a framework runs outside a role's turn (its graph, team or crew span)."""

# ---- OpenInference (framework-native spans)
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OI_KIND_CHAIN: Final = "CHAIN"
OI_KIND_AGENT: Final = "AGENT"
OI_KIND_TOOL: Final = "TOOL"
OI_KIND_LLM: Final = "LLM"
OI_LLM_MODEL_NAME: Final = "llm.model_name"
OI_LLM_PROVIDER: Final = "llm.provider"
OI_LLM_SYSTEM: Final = "llm.system"
OI_LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"  # noqa: S105  # a key, no secret
OI_LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"  # noqa: S105
OI_LLM_FINISH_REASON: Final = "llm.finish_reason"
OI_TOOL_NAME: Final = "tool.name"
OI_GRAPH_NODE_ID: Final = "graph.node.id"
OI_AGENT_NAME: Final = "agent.name"
OI_INPUT_VALUE: Final = "input.value"
OI_OUTPUT_VALUE: Final = "output.value"


def workflow_span_name(name: str) -> str:
    """``invoke_workflow {name}``."""
    return f"{OP_INVOKE_WORKFLOW} {name}"


def agent_span_name(role: str) -> str:
    """``invoke_agent {role}``."""
    return f"{OP_INVOKE_AGENT} {role}"


def tool_span_name(tool: str) -> str:
    """``execute_tool {tool}``."""
    return f"{OP_EXECUTE_TOOL} {tool}"
