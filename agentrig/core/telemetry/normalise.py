"""One step model for a run's spans, whichever instrumentation produced them.

:func:`normalise` turns the spans of one run -- from its JSONL file or an in-memory exporter --
into :class:`RunTrace`: run -> role segments -> LLM calls and tool calls, with start, duration,
tokens, model, finish reasons, tool name, arguments, result and errors. It is what frameworks are
compared on and what ``agentrig trace diff`` aligns (:attr:`Step.signature`).

Which span is which:

============================================  ===========================================
span                                          becomes
============================================  ===========================================
``invoke_workflow`` (agentrig)                the run: name, start, duration, status, grades
``invoke_agent`` (agentrig), OpenInference    a role boundary (``gen_ai.agent.name`` /
``AGENT``                                     ``graph.node.id``)
``chat`` & co. (openai-v2)                    an LLM call -- preferred for its numbers
OpenInference ``LLM``                         an LLM call, unless an openai-v2 span describes
                                              the same call (inside it, in time or as a child)
``execute_tool`` (agentrig's plant hook)      a tool call -- preferred; a framework's own
                                              ``execute_tool`` spans are then left out
OpenInference ``TOOL``                        a tool call, unless an ``execute_tool`` span for
                                              the same tool lies inside it
============================================  ===========================================

A step's role is the ``agentrig.role`` stamped on its span (unless that is ``workflow``), else the
nearest enclosing agent span's. agentrig's own spans (instrumentation scope ``agentrig``) are
recognised as such although they carry ``openinference.span.kind`` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.records import SpanRecord

__all__ = ["Evaluation", "RoleSegment", "RunTrace", "Step", "canonical_arguments", "normalise"]

MAX_RESULT_CHARS = 500
REDACTED = "__REDACTED__"  # what OpenInference writes for hidden inputs and outputs

StepKind = Literal["llm", "tool"]
StepSource = Literal["openai-v2", "openinference", "agentrig"]


def canonical_arguments(arguments: Any) -> str:
    """Arguments as compact JSON with sorted keys, so equal arguments compare equal as text."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return str(arguments)
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)


class Step(BaseModel):
    """One LLM call or tool call. Times are seconds from the run's start."""

    kind: StepKind
    role: str
    name: str
    span_id: str
    source: StepSource
    start_s: float
    duration_s: float
    error: str | None = None
    # LLM calls
    model: str | None = None
    response_model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reasons: list[str] = Field(default_factory=list)
    # tool calls
    tool: str | None = None
    arguments: Any = None
    result: str | None = None
    status: str | None = None
    refused_reason: str | None = None
    safety_violation: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def signature(self) -> str:
        """What must match for two runs to have taken "the same step": role, kind, tool, args."""
        if self.kind == "llm":
            return f"{self.role}|llm"
        return f"{self.role}|tool|{self.tool}|{canonical_arguments(self.arguments)}"


class RoleSegment(BaseModel):
    """Consecutive steps of one role (a role acting twice gives two segments)."""

    role: str
    start_s: float
    duration_s: float
    steps: list[Step]


class Evaluation(BaseModel):
    """One grading check, from a ``gen_ai.evaluation.result`` event."""

    name: str
    score: float | None = None
    label: str | None = None
    explanation: str | None = None


class RunTrace(BaseModel):
    """A run's normalised steps and totals; JSON-serialisable (``model_dump_json``)."""

    run_id: str
    framework: str
    scenario: str
    workflow: str | None
    trace_ids: list[str]
    start_unix_nano: int
    duration_s: float
    status: Literal["ok", "error"]
    error: str | None = None
    roles: list[RoleSegment]
    evaluations: list[Evaluation] = Field(default_factory=list)
    llm_calls: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    llm_seconds: float
    errors: int

    def steps(self) -> list[Step]:
        """Every step in time order."""
        return [step for segment in self.roles for step in segment.steps]

    def signatures(self) -> list[str]:
        return [step.signature for step in self.steps()]


# ---------------------------------------------------------------- classification


def _operation(span: SpanRecord) -> Any:
    return span.attributes.get(semconv.GEN_AI_OPERATION_NAME)


def _oi_kind(span: SpanRecord) -> Any:
    # agentrig's own spans carry openinference.span.kind for OpenInference receivers; here they
    # are agentrig's (the preferred source), not a framework's.
    if span.scope_name == semconv.TRACER_NAME:
        return None
    return span.attributes.get(semconv.OPENINFERENCE_SPAN_KIND)


def _is_primary_llm(span: SpanRecord) -> bool:
    return _operation(span) in semconv.LLM_OPERATIONS and _oi_kind(span) is None


def _is_primary_tool(span: SpanRecord) -> bool:
    return _operation(span) == semconv.OP_EXECUTE_TOOL and _oi_kind(span) is None


def _agent_role(span: SpanRecord) -> str | None:
    if _operation(span) == semconv.OP_INVOKE_AGENT and _oi_kind(span) is None:
        role = span.attributes.get(semconv.GEN_AI_AGENT_NAME)
        return str(role) if role else span.name.removeprefix(f"{semconv.OP_INVOKE_AGENT} ")
    if _oi_kind(span) == "AGENT":
        for key in (semconv.OI_GRAPH_NODE_ID, semconv.OI_AGENT_NAME, semconv.GEN_AI_AGENT_NAME):
            if span.attributes.get(key):
                return str(span.attributes[key])
        return span.name.split(".")[0]
    return None


class _Tree:
    def __init__(self, spans: Sequence[SpanRecord]) -> None:
        self.by_id = {span.span_id: span for span in spans}

    def ancestors(self, span: SpanRecord) -> Iterable[SpanRecord]:
        seen: set[str] = set()
        parent_id = span.parent_span_id
        while parent_id and parent_id in self.by_id and parent_id not in seen:
            seen.add(parent_id)
            parent = self.by_id[parent_id]
            yield parent
            parent_id = parent.parent_span_id

    def is_ancestor(self, ancestor: SpanRecord, span: SpanRecord) -> bool:
        return any(a.span_id == ancestor.span_id for a in self.ancestors(span))

    def nearest_agent(self, span: SpanRecord) -> tuple[SpanRecord, str] | None:
        for ancestor in self.ancestors(span):
            role = _agent_role(ancestor)
            if role is not None:
                return ancestor, role
        return None


def _overlap(a: SpanRecord, b: SpanRecord) -> bool:
    return (
        a.trace_id == b.trace_id
        and a.start_unix_nano < b.end_unix_nano
        and b.start_unix_nano < a.end_unix_nano
    )


def _duplicates(
    secondary: SpanRecord, primaries: Sequence[SpanRecord], tree: _Tree, tool: str | None = None
) -> bool:
    # OpenInference's LangChain spans are not made current while the call runs, so the openai-v2
    # or execute_tool span is a sibling, not a child: overlap in time (same tool) decides.
    return any(
        (tool is None or _tool_name(primary) == tool)
        and (tree.is_ancestor(secondary, primary) or _overlap(secondary, primary))
        for primary in primaries
    )


def _tool_name(span: SpanRecord) -> str:
    if _oi_kind(span) is None:
        return str(
            span.attributes.get(semconv.GEN_AI_TOOL_NAME)
            or span.name.removeprefix(f"{semconv.OP_EXECUTE_TOOL} ")
        )
    return str(span.attributes.get(semconv.OI_TOOL_NAME) or span.name.split(".")[-1])


# ---------------------------------------------------------------- steps


def _error(span: SpanRecord) -> str | None:
    error_type = span.attributes.get(semconv.ERROR_TYPE)
    if error_type:
        return f"{error_type}: {span.status_message}" if span.status_message else str(error_type)
    if span.status_code == "ERROR":
        return span.status_message or "error"
    return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _parse_json(value: Any) -> Any:
    if value == REDACTED:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _short(value: Any) -> str | None:
    if value is None or value == REDACTED:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_RESULT_CHARS else f"{text[:MAX_RESULT_CHARS]}..."


def _llm_step(span: SpanRecord, role: str, run_start: int) -> Step:
    a = span.attributes
    if _oi_kind(span) is None:
        model, provider = a.get(semconv.GEN_AI_REQUEST_MODEL), a.get(semconv.GEN_AI_PROVIDER_NAME)
        provider = provider or a.get(semconv.GEN_AI_SYSTEM)
        tokens = (
            a.get(semconv.GEN_AI_USAGE_INPUT_TOKENS),
            a.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        )
        reasons = a.get(semconv.GEN_AI_RESPONSE_FINISH_REASONS) or ()
        source: StepSource = "openai-v2"
    else:
        model, provider = a.get(semconv.OI_LLM_MODEL_NAME), a.get(semconv.OI_LLM_PROVIDER)
        provider = provider or a.get(semconv.OI_LLM_SYSTEM)
        tokens = (
            a.get(semconv.OI_LLM_TOKEN_COUNT_PROMPT),
            a.get(semconv.OI_LLM_TOKEN_COUNT_COMPLETION),
        )
        reason = a.get(semconv.OI_LLM_FINISH_REASON)
        reasons = (reason,) if reason else ()
        source = "openinference"
    return Step(
        kind="llm",
        role=role,
        name=span.name,
        span_id=span.span_id,
        source=source,
        start_s=(span.start_unix_nano - run_start) / 1e9,
        duration_s=span.duration_s,
        error=_error(span),
        model=_str(model),
        response_model=_str(a.get(semconv.GEN_AI_RESPONSE_MODEL)),
        provider=_str(provider),
        input_tokens=_int(tokens[0]),
        output_tokens=_int(tokens[1]),
        finish_reasons=[
            str(r) for r in (reasons if isinstance(reasons, tuple | list) else (reasons,))
        ],
    )


def _tool_step(span: SpanRecord, role: str, run_start: int) -> Step:
    a = span.attributes
    tool = _tool_name(span)
    if _oi_kind(span) is None:
        arguments = _parse_json(a.get(semconv.GEN_AI_TOOL_CALL_ARGUMENTS))
        result = a.get(semconv.GEN_AI_TOOL_CALL_RESULT)
        status = _str(a.get(semconv.AGENTRIG_TOOL_STATUS))
        source: StepSource = "agentrig"
    else:
        arguments = _parse_json(a.get(semconv.OI_INPUT_VALUE))
        result = a.get(semconv.OI_OUTPUT_VALUE)
        status = "error" if span.status_code == "ERROR" else "ok"
        source = "openinference"
    return Step(
        kind="tool",
        role=role,
        name=span.name,
        span_id=span.span_id,
        source=source,
        start_s=(span.start_unix_nano - run_start) / 1e9,
        duration_s=span.duration_s,
        error=_error(span),
        tool=str(tool),
        arguments=arguments,
        result=_short(result),
        status=status,
        refused_reason=_str(a.get(semconv.AGENTRIG_TOOL_REFUSED_REASON)),
        safety_violation=bool(a.get(semconv.AGENTRIG_TOOL_SAFETY_VIOLATION, False)),
    )


def _segments(steps: list[tuple[Step, SpanRecord | None]], run_start: int) -> list[RoleSegment]:
    segments: list[RoleSegment] = []
    groups: list[list[tuple[Step, SpanRecord | None]]] = []
    for item in steps:
        if groups and groups[-1][0][0].role == item[0].role:
            groups[-1].append(item)
        else:
            groups.append([item])
    for group in groups:
        agents = {agent.span_id: agent for _, agent in group if agent is not None}
        if len(agents) == 1 and all(agent is not None for _, agent in group):
            agent = next(iter(agents.values()))
            start_s, duration_s = (agent.start_unix_nano - run_start) / 1e9, agent.duration_s
        else:
            start_s = min(step.start_s for step, _ in group)
            duration_s = max(step.start_s + step.duration_s for step, _ in group) - start_s
        segments.append(
            RoleSegment(
                role=group[0][0].role,
                start_s=start_s,
                duration_s=duration_s,
                steps=[step for step, _ in group],
            )
        )
    return segments


def normalise(spans: Iterable[SpanRecord], run_id: str | None = None) -> RunTrace:
    """The step model of one run. With ``run_id``, spans of other runs are left out.

    Raises:
        ValueError: there are no spans (of that run).
    """
    records = [
        span
        for span in spans
        if run_id is None or span.attributes.get(semconv.AGENTRIG_RUN_ID) == run_id
    ]
    if not records:
        raise ValueError(f"no spans for run {run_id!r}" if run_id else "no spans to normalise")
    tree = _Tree(records)
    workflows = [span for span in records if _operation(span) == semconv.OP_INVOKE_WORKFLOW]
    workflow = min(workflows, key=lambda span: span.start_unix_nano) if workflows else None
    run_start = workflow.start_unix_nano if workflow else min(s.start_unix_nano for s in records)
    run_end = workflow.end_unix_nano if workflow else max(s.end_unix_nano for s in records)

    primary_llms = [span for span in records if _is_primary_llm(span)]
    primary_tools = [span for span in records if _is_primary_tool(span)]
    if any(span.scope_name == semconv.TRACER_NAME for span in primary_tools):
        # Every tool call goes through the plant's executor, whose span is the call. A framework's
        # own GenAI execute_tool spans describe the same calls again (Google ADK writes one around
        # each call and an "execute_tool (merged)" one per batch of parallel calls).
        primary_tools = [span for span in primary_tools if span.scope_name == semconv.TRACER_NAME]
    chosen: list[tuple[SpanRecord, StepKind]] = [(span, "llm") for span in primary_llms]
    chosen += [(span, "tool") for span in primary_tools]
    for span in records:
        if _oi_kind(span) == "LLM" and not _duplicates(span, primary_llms, tree):
            chosen.append((span, "llm"))
        elif _oi_kind(span) == "TOOL" and not _duplicates(
            span, primary_tools, tree, tool=_tool_name(span)
        ):
            chosen.append((span, "tool"))
    chosen.sort(key=lambda item: item[0].start_unix_nano)

    steps: list[tuple[Step, SpanRecord | None]] = []
    for span, kind in chosen:
        nearest = tree.nearest_agent(span)
        stamped = span.attributes.get(semconv.AGENTRIG_ROLE)
        if stamped == semconv.WORKFLOW_ROLE:  # acts for the whole run: an agent span may know more
            stamped = None
        role = str(stamped) if stamped else (nearest[1] if nearest else "")
        agent = nearest[0] if nearest and nearest[1] == role else None
        make = _llm_step if kind == "llm" else _tool_step
        steps.append((make(span, role, run_start), agent))

    first = workflow or records[0]
    flat = [step for step, _ in steps]
    llm_steps = [step for step in flat if step.kind == "llm"]
    evaluations = [
        Evaluation(
            name=str(event.attributes.get(semconv.GEN_AI_EVALUATION_NAME, "")),
            score=event.attributes.get(semconv.GEN_AI_EVALUATION_SCORE_VALUE),
            label=event.attributes.get(semconv.GEN_AI_EVALUATION_SCORE_LABEL),
            explanation=event.attributes.get(semconv.GEN_AI_EVALUATION_EXPLANATION),
        )
        for event in (workflow.events if workflow else ())
        if event.name == semconv.EVENT_EVALUATION_RESULT
    ]
    return RunTrace(
        run_id=str(first.attributes.get(semconv.AGENTRIG_RUN_ID, run_id or "")),
        framework=str(first.attributes.get(semconv.AGENTRIG_FRAMEWORK, "")),
        scenario=str(first.attributes.get(semconv.AGENTRIG_SCENARIO, "")),
        workflow=_str(workflow.attributes.get(semconv.GEN_AI_WORKFLOW_NAME)) if workflow else None,
        trace_ids=sorted({span.trace_id for span in records}),
        start_unix_nano=run_start,
        duration_s=max(run_end - run_start, 0) / 1e9,
        status="error" if workflow is not None and workflow.status_code == "ERROR" else "ok",
        error=_error(workflow) if workflow is not None else None,
        roles=_segments(steps, run_start),
        evaluations=evaluations,
        llm_calls=len(llm_steps),
        tool_calls=len(flat) - len(llm_steps),
        input_tokens=sum(step.input_tokens or 0 for step in llm_steps),
        output_tokens=sum(step.output_tokens or 0 for step in llm_steps),
        llm_seconds=sum(step.duration_s for step in llm_steps),
        errors=sum(1 for step in flat if step.error),
    )
