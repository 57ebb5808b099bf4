"""The two entry points: :func:`setup_telemetry` (once per process) and :class:`Telemetry` (per run).

The CLI or runner calls :func:`setup_telemetry` once; the runner builds a :class:`Telemetry` per
run and hands it to the adapter in its ``RunContext``::

    setup_telemetry(frameworks=["langchain"])
    metrics = AgentrigMetrics()                        # one registry for the whole comparison
    with Telemetry.for_run(run_id, "langchain", "blocked_discharge",
                           metrics=metrics, out_dir="runs") as telemetry:
        with telemetry.workflow("maintenance"):
            with telemetry.agent("monitor"):
                ...                                    # chat spans come from openai-v2
            executor = ToolExecutor(..., hooks=[telemetry.tool_hook])
            ...
            telemetry.evaluation("fault_resolved", score=1.0, label="pass")
        telemetry.record_run("passed", duration_s)
    # leaving the block closed runs/<run_id>/trace.jsonl and woke the OTLP export thread
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType

import structlog
from opentelemetry import trace
from opentelemetry.trace import Span

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.messaging.message import Message
from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.context import bind_run, current_labels
from agentrig.core.telemetry.instrumentation import instrument_framework, instrument_openai
from agentrig.core.telemetry.jsonl import JsonlSpanWriter, trace_file_path
from agentrig.core.telemetry.logs import configure_logging
from agentrig.core.telemetry.metrics import AgentrigMetrics, LlmSpanMetrics
from agentrig.core.telemetry.processors import SpanSink
from agentrig.core.telemetry.spans import (
    ToolCallRecordLike,
    add_evaluation,
    agent_span,
    consume_span,
    record_tool_call,
    tool_call_status,
    workflow_span,
)
from agentrig.core.telemetry.tracing import TracingState, get_tracer, setup_tracing, tracing_state
from agentrig.exceptions import TelemetryError

__all__ = ["Telemetry", "setup_telemetry"]


def setup_telemetry(
    *,
    log_level: int | str = "INFO",
    log_json: bool | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    capture_content: bool | None = None,
    frameworks: Sequence[str] = (),
) -> TracingState:
    """Set up logs, the tracer provider and the instrumentations; safe to call more than once.

    Call it before importing or using a framework. ``frameworks`` are adapter names whose
    OpenInference instrumentation to enable (openai-v2 is always enabled).
    """
    disable_phone_home()
    configure_logging(level=log_level, json=log_json)
    state = setup_tracing(otlp_endpoint=otlp_endpoint, otlp_protocol=otlp_protocol)
    instrument_openai(capture_content=capture_content)
    for framework in frameworks:
        instrument_framework(framework, capture_content=capture_content)
    return state


class Telemetry:
    """One run's telemetry: its labels, trace file, metrics, and span helpers.

    Spans of the run -- agentrig's and every instrumentation's -- are stamped with its labels
    while code runs inside :meth:`bind`, :meth:`workflow` or :meth:`agent`, and go to its JSONL
    file; LLM spans also feed its metrics.
    """

    def __init__(
        self,
        run_id: str,
        framework: str,
        scenario: str = "",
        *,
        metrics: AgentrigMetrics | None = None,
        trace_file: Path | str | None = None,
    ) -> None:
        self.run_id = run_id
        self.framework = framework
        self.scenario = scenario
        self.metrics = metrics if metrics is not None else AgentrigMetrics()
        self.state = tracing_state()
        self.tracer = get_tracer()
        self.trace_file = Path(trace_file) if trace_file is not None else None
        self.logger: structlog.stdlib.BoundLogger = structlog.get_logger("agentrig.run").bind(
            scenario=scenario
        )
        self._sinks: list[SpanSink] = [LlmSpanMetrics(self.metrics)]
        if self.trace_file is not None:
            self._sinks.append(JsonlSpanWriter(self.trace_file))
        for sink in self._sinks:
            self.state.router.add_run_sink(run_id, sink)
        self._workflow: Span | None = None
        self.agent_spans: dict[str, Span] = {}
        """Each role's ``invoke_agent`` span while it works (an in-process MCP server parents
        its ``tools/call`` spans on it: the request reaches it without the role's context)."""
        self._closed = False
        self._span_labels = {
            semconv.AGENTRIG_RUN_ID: run_id,
            semconv.AGENTRIG_FRAMEWORK: framework,
            semconv.AGENTRIG_SCENARIO: scenario,
        }

    @classmethod
    def for_run(
        cls,
        run_id: str,
        framework: str,
        scenario: str = "",
        *,
        metrics: AgentrigMetrics | None = None,
        out_dir: Path | str | None = None,
    ) -> Telemetry:
        """Telemetry for one run; with ``out_dir`` its spans go to ``out_dir/<run_id>/trace.jsonl``."""
        trace_file = trace_file_path(out_dir, run_id) if out_dir is not None else None
        return cls(run_id, framework, scenario, metrics=metrics, trace_file=trace_file)

    @contextmanager
    def bind(self) -> Iterator[None]:
        """Run the block as part of this run (labels on logs and spans), without a span."""
        with bind_run(self.run_id, self.framework, self.scenario):
            yield

    @contextmanager
    def workflow(self, name: str) -> Iterator[Span]:
        """The run's root span ``invoke_workflow {name}``; grade inside it."""
        with ExitStack() as stack:
            stack.enter_context(self.bind())
            span = stack.enter_context(
                workflow_span(
                    self.tracer,
                    name,
                    {
                        semconv.GEN_AI_CONVERSATION_ID: self.run_id,
                        semconv.AGENTRIG_RUN_ID: self.run_id,
                        semconv.AGENTRIG_FRAMEWORK: self.framework,
                        semconv.AGENTRIG_SCENARIO: self.scenario,
                    },
                )
            )
            self._workflow = span
            try:
                yield span
            finally:
                self._workflow = None

    @contextmanager
    def agent(self, role: str) -> Iterator[Span]:
        """``invoke_agent {role}``; spans and logs inside carry the role.

        Each turn is counted in ``agent_tasks_processed_total`` (status ``ok`` or ``error``) and
        timed in ``agent_task_duration_seconds``.
        """
        started = time.perf_counter()
        status = "error"
        try:
            with self.bind(), agent_span(self.tracer, role) as span:
                self.agent_spans[role] = span
                try:
                    yield span
                finally:
                    self.agent_spans.pop(role, None)
            status = "ok"
        finally:
            self.metrics.record_agent_task(
                self.framework, role, status, time.perf_counter() - started
            )

    @contextmanager
    def consume(
        self, message: Message, *, messaging_system: str = "agentrig", role: str | None = None
    ) -> Iterator[Span]:
        """``process {recipient}`` continuing the sender's trace from ``message``'s headers.

        Its ``agentrig.role`` is ``role``, else the role bound here, else the recipient less the
        run's inbox prefix (``<run_id>:monitor`` -> ``monitor``).
        """
        if role is None:
            labels = current_labels()
            role = (labels.role if labels is not None else "") or message.recipient.removeprefix(
                f"{self.run_id}:"
            )
        with (
            self.bind(),
            consume_span(
                self.tracer, message, messaging_system=messaging_system, role=role
            ) as span,
        ):
            yield span

    def tool_hook(self, record: ToolCallRecordLike) -> None:
        """The plant executor's per-call hook: an ``execute_tool`` span plus the tool metrics.

        Must run in the caller's context (the executor calls hooks inline), so the span is
        parented on the role's span.
        """
        labels = current_labels()
        if labels is not None and labels.run_id == self.run_id:
            record_tool_call(self.tracer, record, self._span_labels)
        else:  # called from outside the run's context (a hook run on another thread)
            with self.bind():
                record_tool_call(self.tracer, record, self._span_labels)
        self.metrics.record_tool_call(
            self.framework,
            record.tool,
            tool_call_status(record),
            record.duration_s,
            bool(record.safety_violation),
        )

    def evaluation(
        self,
        name: str,
        *,
        score: float | None = None,
        label: str | None = None,
        explanation: str | None = None,
    ) -> None:
        """Record one grading check as a ``gen_ai.evaluation.result`` event on the run's span.

        Raises:
            TelemetryError: called outside ``with telemetry.workflow(...)``.
        """
        if self._workflow is None:
            raise TelemetryError(
                f"evaluation {name!r} of run {self.run_id} has no workflow span to go on: "
                "grade inside `with telemetry.workflow(...)`"
            )
        add_evaluation(self._workflow, name, score=score, label=label, explanation=explanation)

    def record_run(self, status: str, duration_s: float) -> None:
        """Count the finished run (status: passed, failed or error) and its wall time."""
        self.metrics.record_run(self.framework, self.scenario, status, duration_s)
        if self._workflow is not None:
            self._workflow.set_attribute(semconv.AGENTRIG_RUN_STATUS, status)

    def close(self) -> None:
        """Close the trace file and ask the OTLP thread to send the run's spans. Idempotent.

        Never waits for the collector: this runs on the runner's event loop, beside other runs
        (``export.py`` says what the export thread does instead).
        """
        if self._closed:
            return
        self._closed = True
        if self.state.exporter is not None:
            self.state.exporter.request_export()
        for sink in self.state.router.remove_run_sinks(self.run_id):
            sink.close()

    def __enter__(self) -> Telemetry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def trace_id(self) -> str | None:
        """The current trace id (hex) inside the run's spans, else None."""
        context = trace.get_current_span().get_span_context()
        return f"{context.trace_id:032x}" if context.is_valid else None

    def __repr__(self) -> str:
        return f"Telemetry(run_id={self.run_id!r}, framework={self.framework!r})"
