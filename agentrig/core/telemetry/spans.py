"""agentrig's own spans: the run, each role, each tool call, grading results, bus consumption.

=============================  ===========  ==================================================
span                           kind         from
=============================  ===========  ==================================================
``invoke_workflow {name}``     INTERNAL     :func:`workflow_span` -- one per run
``invoke_agent {role}``        INTERNAL     :func:`agent_span` -- each role's turn
``execute_tool {tool}``        INTERNAL     :func:`record_tool_call` -- the plant executor's hook
``process {recipient}``        CONSUMER     :func:`consume_span` -- handling a bus message
``chat {model}``               CLIENT       opentelemetry-instrumentation-openai-v2
=============================  ===========  ==================================================

Every one carries ``agentrig.role`` (the workflow root: ``workflow``; ``process``: the role the message
is for)
and ``openinference.span.kind`` (CHAIN, AGENT, TOOL, CHAIN), so OpenInference receivers such as
Phoenix show their kind rather than UNKNOWN.

Grading results are ``gen_ai.evaluation.result`` events on the workflow span
(:func:`add_evaluation`). Tool arguments and results are recorded (truncated): they are plant
device ids and set-points, and the step model and trace diffs need them. Prompt and completion
text is not recorded unless content capture is turned on (``instrumentation.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from agentrig.core.messaging.message import Message
from agentrig.core.messaging.tracecontext import extract_trace_context
from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.context import bind_role, current_labels

__all__ = [
    "MAX_RECORDED_CHARS",
    "ToolCallRecordLike",
    "add_evaluation",
    "agent_span",
    "consume_span",
    "record_tool_call",
    "tool_call_status",
    "truncate",
    "workflow_span",
]

MAX_RECORDED_CHARS = 2000
"""Tool arguments and results longer than this are cut (with a marker) on spans."""


def truncate(text: str, limit: int = MAX_RECORDED_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more chars]"


def _to_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    to_text = getattr(value, "to_text", None)  # the plant's ToolResult: what the model saw
    if callable(to_text):
        return str(to_text())
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _record_error(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error) or type(error).__name__))
    span.set_attribute(semconv.ERROR_TYPE, type(error).__qualname__)


@contextmanager
def workflow_span(
    tracer: trace.Tracer, name: str, attributes: Mapping[str, Any] | None = None
) -> Iterator[Span]:
    """``invoke_workflow {name}``: the root span of a run. Errors are recorded and re-raised."""
    with tracer.start_as_current_span(
        semconv.workflow_span_name(name),
        kind=SpanKind.INTERNAL,
        attributes={
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
            semconv.GEN_AI_WORKFLOW_NAME: name,
            semconv.OPENINFERENCE_SPAN_KIND: semconv.OI_KIND_CHAIN,
            semconv.AGENTRIG_ROLE: semconv.WORKFLOW_ROLE,
            **(attributes or {}),
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            _record_error(span, error)
            raise


@contextmanager
def agent_span(
    tracer: trace.Tracer, role: str, attributes: Mapping[str, Any] | None = None
) -> Iterator[Span]:
    """``invoke_agent {role}``, with ``role`` bound for logs and spans started inside."""
    with (
        bind_role(role),
        tracer.start_as_current_span(
            semconv.agent_span_name(role),
            kind=SpanKind.INTERNAL,
            attributes={
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
                semconv.GEN_AI_AGENT_NAME: role,
                semconv.AGENTRIG_ROLE: role,
                semconv.OPENINFERENCE_SPAN_KIND: semconv.OI_KIND_AGENT,
                **(attributes or {}),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
    ):
        try:
            yield span
        except BaseException as error:
            _record_error(span, error)
            raise


def add_evaluation(
    span: Span,
    name: str,
    *,
    score: float | None = None,
    label: str | None = None,
    explanation: str | None = None,
) -> None:
    """Add a ``gen_ai.evaluation.result`` event (one grading check) to ``span``."""
    attributes: dict[str, Any] = {semconv.GEN_AI_EVALUATION_NAME: name}
    if score is not None:
        attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] = float(score)
    if label is not None:
        attributes[semconv.GEN_AI_EVALUATION_SCORE_LABEL] = label
    if explanation:
        attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] = truncate(explanation)
    span.add_event(semconv.EVENT_EVALUATION_RESULT, attributes)


class ToolCallRecordLike(Protocol):
    """What the plant's ToolExecutor reports per call (``agentrig.core.plant.ToolCallRecord``)."""

    @property
    def tool(self) -> str: ...
    @property
    def arguments(self) -> Mapping[str, Any]: ...
    @property
    def role(self) -> str: ...
    @property
    def result(self) -> Any: ...
    @property
    def error(self) -> str | None: ...
    @property
    def refused_reason(self) -> str | None: ...
    @property
    def safety_violation(self) -> bool: ...
    @property
    def started_at_ns(self) -> int: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def replayed(self) -> bool: ...


def tool_call_status(record: ToolCallRecordLike) -> str:
    """``refused``, ``error``, ``replayed`` or ``ok`` -- the ``status`` label of tool metrics."""
    if record.refused_reason:
        return "refused"
    if record.error:
        return "error"
    if record.replayed:
        return "replayed"
    return "ok"


def record_tool_call(
    tracer: trace.Tracer, record: ToolCallRecordLike, labels: Mapping[str, str] | None = None
) -> Span:
    """Emit ``execute_tool {tool}`` for a finished call, with its real start and end times.

    Call it in the caller's context (the executor's hook does): the span is parented on the
    current span, normally the role's ``invoke_agent``. ``labels`` (run id, framework, scenario)
    go on the span at creation, which spares the run stamping its own writes on this hot path.
    """
    status = tool_call_status(record)
    attributes: dict[str, Any] = {
        **(labels or {}),
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
        semconv.GEN_AI_TOOL_NAME: record.tool,
        semconv.GEN_AI_TOOL_TYPE: "function",
        semconv.OPENINFERENCE_SPAN_KIND: semconv.OI_KIND_TOOL,
        semconv.GEN_AI_TOOL_CALL_ARGUMENTS: truncate(_to_json(dict(record.arguments))),
        semconv.AGENTRIG_TOOL_STATUS: status,
        semconv.AGENTRIG_TOOL_SAFETY_VIOLATION: bool(record.safety_violation),
        semconv.AGENTRIG_TOOL_REPLAYED: bool(record.replayed),
    }
    if record.role:
        attributes[semconv.AGENTRIG_ROLE] = record.role
    if record.result is not None:
        attributes[semconv.GEN_AI_TOOL_CALL_RESULT] = truncate(_to_json(record.result))
    if record.idempotency_key:
        attributes[semconv.AGENTRIG_TOOL_IDEMPOTENCY_KEY] = record.idempotency_key
    if record.refused_reason:
        attributes[semconv.AGENTRIG_TOOL_REFUSED_REASON] = record.refused_reason
        attributes[semconv.ERROR_TYPE] = "refused"
    elif record.error:
        attributes[semconv.ERROR_TYPE] = "tool_error"
    span = tracer.start_span(
        semconv.tool_span_name(record.tool),
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        start_time=record.started_at_ns,
    )
    if record.refused_reason or record.error:
        span.set_status(Status(StatusCode.ERROR, record.refused_reason or record.error or ""))
    span.end(end_time=record.started_at_ns + round(record.duration_s * 1e9))
    return span


@contextmanager
def consume_span(
    tracer: trace.Tracer,
    message: Message,
    *,
    messaging_system: str = "agentrig",
    consumer_group: str | None = None,
    role: str | None = None,
) -> Iterator[Span]:
    """``process {recipient}``: handle a bus message as part of the sender's trace.

    The span's parent is the context the sender injected into ``message.headers`` (so the trace
    id carries over); when the receiver was already inside a span of another trace, that span is
    linked. Follows the OpenTelemetry messaging conventions for a ``process`` operation.
    ``agentrig.role`` is ``role``, else the role bound here, else the recipient.
    """
    parent = extract_trace_context(message)
    labels = current_labels()
    current = trace.get_current_span().get_span_context()
    sender = trace.get_current_span(parent).get_span_context()
    links = (
        [Link(current)]
        if current.is_valid and (not sender.is_valid or current.trace_id != sender.trace_id)
        else []
    )
    attributes: dict[str, Any] = {
        semconv.MESSAGING_SYSTEM: messaging_system,
        semconv.MESSAGING_OPERATION_NAME: "process",
        semconv.MESSAGING_OPERATION_TYPE: "process",
        semconv.MESSAGING_DESTINATION_NAME: message.recipient,
        semconv.MESSAGING_MESSAGE_ID: message.id,
        semconv.MESSAGING_MESSAGE_CONVERSATION_ID: message.correlation_id,
        semconv.AGENTRIG_MESSAGE_TYPE: message.type,
        semconv.AGENTRIG_ROLE: role or (labels.role if labels else "") or message.recipient,
        semconv.OPENINFERENCE_SPAN_KIND: semconv.OI_KIND_CHAIN,
    }
    if consumer_group:
        attributes[semconv.MESSAGING_CONSUMER_GROUP_NAME] = consumer_group
    with tracer.start_as_current_span(
        f"process {message.recipient}",
        # A message sent outside any trace is handled in the receiver's own context.
        context=parent if sender.is_valid else None,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=links,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            _record_error(span, error)
            raise
