"""The maintained instrumentations agentrig enables: openai-v2 for LLM calls, OpenInference per framework.

All four adapters reach the model through the ``openai`` SDK, so :func:`instrument_openai` gives
every framework the same ``chat {model}`` spans. :func:`instrument_framework` adds the
framework's own structure (agents, tasks, tools) from OpenInference where it adds information.
Each is enabled once per process and bound to agentrig's provider explicitly.

Settings, read when the instrumentation is enabled:

* ``OTEL_SEMCONV_STABILITY_OPT_IN`` gets ``gen_ai_latest_experimental`` appended (other values kept)
  so openai-v2 writes ``gen_ai.provider.name`` (the v1.37+ name) rather than ``gen_ai.system``.
* Message content (prompts, completions) is **not** recorded unless ``capture_content=True`` or
  ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says so (``span_only``,
  ``event_only``, ``span_and_event``); OpenInference then hides inputs and outputs likewise.

openai-v2 2.4b0 never fills ``gen_ai.response.finish_reasons`` for streamed responses (its stream
wrappers keep an empty class-level list); :func:`_fill_streamed_finish_reasons` fixes that.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from importlib import import_module
from typing import Any

import structlog

from agentrig.core.telemetry.tracing import tracing_state
from agentrig.exceptions import ConfigurationError, MissingExtraError

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "FRAMEWORK_INSTRUMENTORS",
    "FRAMEWORK_SPAN_PROCESSORS",
    "SEMCONV_OPT_IN_ENV",
    "content_capture_enabled",
    "instrument_framework",
    "instrument_openai",
    "instrumented",
]

logger = structlog.get_logger(__name__)

SEMCONV_OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
GEN_AI_LATEST = "gen_ai_latest_experimental"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CONTENT_MODES = ("span_only", "event_only", "span_and_event")

# framework -> (module, instrumentor class, extra that installs it)
FRAMEWORK_INSTRUMENTORS: dict[str, tuple[str, str, str]] = {
    "langchain": (
        "openinference.instrumentation.langchain",
        "LangChainInstrumentor",
        "langchain",
    ),
    # The same OpenInference instrumentor as langchain's (LangGraph runs on LangChain callbacks).
    "langgraph": (
        "openinference.instrumentation.langchain",
        "LangChainInstrumentor",
        "langgraph",
    ),
    "crewai": ("openinference.instrumentation.crewai", "CrewAIInstrumentor", "crewai"),
    "autogen": (
        "openinference.instrumentation.autogen_agentchat",
        "AutogenAgentChatInstrumentor",
        "autogen",
    ),
    "openai-agents": (
        "openinference.instrumentation.openai_agents",
        "OpenAIAgentsInstrumentor",
        "openai-agents",
    ),
    "smolagents": (
        "openinference.instrumentation.smolagents",
        "SmolagentsInstrumentor",
        "smolagents",
    ),
}
# framework -> (module, span processor class, extra, the framework's tracer name): OpenInference
# packages that rewrite a framework's own GenAI spans (kind, graph node) instead of instrumenting
# it. They run inside agentrig's span router, on that tracer's spans only, before the run's sinks.
FRAMEWORK_SPAN_PROCESSORS: dict[str, tuple[str, str, str, str]] = {
    "agent-framework": (
        "openinference.instrumentation.agent_framework",
        "AgentFrameworkToOpenInferenceProcessor",
        "agent-framework",
        "agent_framework",
    ),
    "pydantic-ai": (
        "openinference.instrumentation.pydantic_ai",
        "OpenInferenceSpanProcessor",
        "pydantic-ai",
        "pydantic-ai",
    ),
}
# Frameworks whose only instrumentation is the openai SDK's, or their own GenAI spans. Google ADK
# writes GenAI-convention spans itself (generate_content per model call, with its tokens); its
# model calls go through LiteLLM, which posts with the openai client's low-level post() and so
# bypasses openai-v2. openinference-instrumentation-google-adk 1.0.5 is not used: on ADK 2.13 it
# replaces those spans with one LLM span per agent turn, which undercounts calls and tokens
# (docs/adapters-google-adk.md).
_OPENAI_ONLY = frozenset({"plain", "openai", "google-adk"})

_lock = threading.Lock()
_done: set[str] = set()


def instrumented() -> frozenset[str]:
    """What agentrig has instrumented in this process: "openai" and framework names."""
    return frozenset(_done)


def content_capture_enabled() -> bool:
    """Whether prompt and completion text is recorded (``CAPTURE_CONTENT_ENV``)."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in (*_CONTENT_MODES, "true")


def _opt_in_to_latest_genai_conventions() -> None:
    values = [v.strip() for v in os.environ.get(SEMCONV_OPT_IN_ENV, "").split(",") if v.strip()]
    if GEN_AI_LATEST not in values:
        os.environ[SEMCONV_OPT_IN_ENV] = ",".join([*values, GEN_AI_LATEST])
    from opentelemetry.instrumentation._semconv import (
        _OpenTelemetrySemanticConventionStability,
        _OpenTelemetryStabilitySignalType,
        _StabilityMode,
    )

    _OpenTelemetrySemanticConventionStability._initialize()  # type: ignore[no-untyped-call]
    mode = _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
        _OpenTelemetryStabilitySignalType.GEN_AI
    )
    if mode is not _StabilityMode.GEN_AI_LATEST_EXPERIMENTAL:
        # Another instrumentation read the variable before we set it; the stamping processor
        # still copies gen_ai.system into gen_ai.provider.name.
        logger.warning(
            "instrumentation: the GenAI semconv opt-in was read before agentrig set it; chat "
            "spans use the v1.30 attribute names",
            hint=f"set {SEMCONV_OPT_IN_ENV}={GEN_AI_LATEST} in the environment",
        )


def _set_content_capture(capture_content: bool | None) -> None:
    if capture_content is None:
        return
    os.environ[CAPTURE_CONTENT_ENV] = "span_only" if capture_content else "no_content"


def _fill_streamed_finish_reasons() -> None:
    from opentelemetry.instrumentation.openai_v2 import patch

    for wrapper in (patch.ChatStreamWrapper, patch.LegacyChatStreamWrapper):
        original: Callable[..., None] = wrapper.cleanup
        if getattr(original, "_agentrig_fills_finish_reasons", False):
            continue

        def cleanup(
            self: Any, error: BaseException | None = None, _original: Callable[..., None] = original
        ) -> None:
            if not self.finish_reasons:
                self.finish_reasons = [
                    buffer.finish_reason or "error" for buffer in self.choice_buffers
                ]
            _original(self, error)

        cleanup._agentrig_fills_finish_reasons = True  # type: ignore[attr-defined]
        wrapper.cleanup = cleanup  # type: ignore[method-assign]


def instrument_openai(*, capture_content: bool | None = None) -> bool:
    """Enable openai-v2 (``chat {model}`` spans) on agentrig's provider, once per process.

    Returns True when this call enabled it, False when it already was (by agentrig or by the
    application, whose set-up is left as it is).
    """
    with _lock:
        if "openai" in _done:
            return False
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        instrumentor = OpenAIInstrumentor()  # type: ignore[no-untyped-call]
        _done.add("openai")
        if instrumentor.is_instrumented_by_opentelemetry:
            logger.info("instrumentation: openai already instrumented by the application")
            return False
        _opt_in_to_latest_genai_conventions()
        _set_content_capture(capture_content)
        _fill_streamed_finish_reasons()
        instrumentor.instrument(tracer_provider=tracing_state().provider)
        return True


def _trace_config(capture_content: bool) -> Any:
    from openinference.instrumentation import TraceConfig

    hidden = not capture_content
    return TraceConfig(
        hide_inputs=hidden,
        hide_outputs=hidden,
        hide_input_messages=hidden,
        hide_output_messages=hidden,
        hide_input_text=hidden,
        hide_output_text=hidden,
    )


def _shares_instrumentor_with_one_done(name: str) -> bool:
    return any(
        other != name and FRAMEWORK_INSTRUMENTORS[other][:2] == FRAMEWORK_INSTRUMENTORS[name][:2]
        for other in _done
        if other in FRAMEWORK_INSTRUMENTORS
    )


def instrument_framework(name: str, *, capture_content: bool | None = None) -> bool:
    """Enable the instrumentation for framework ``name`` (and openai-v2), once per process.

    ``name`` is an adapter name: ``plain``, ``langchain``, ``autogen``, ``crewai``, ... Returns True
    when the framework's instrumentor was enabled by this call.

    Raises:
        ConfigurationError: ``name`` is not a known framework.
        MissingExtraError: the framework's OpenInference package is not installed.
    """
    instrument_openai(capture_content=capture_content)
    if name in _OPENAI_ONLY:
        return False
    if name in FRAMEWORK_SPAN_PROCESSORS:
        return _add_span_processor(name)
    if name not in FRAMEWORK_INSTRUMENTORS:
        known = ", ".join(
            sorted({*FRAMEWORK_INSTRUMENTORS, *FRAMEWORK_SPAN_PROCESSORS, *_OPENAI_ONLY})
        )
        raise ConfigurationError(f"no instrumentation for framework {name!r}; known: {known}")
    module_name, class_name, extra = FRAMEWORK_INSTRUMENTORS[name]
    with _lock:
        if name in _done:
            return False
        try:
            instrumentor_class = getattr(import_module(module_name), class_name)
        except ImportError as error:
            raise MissingExtraError(f"tracing {name}", extra) from error
        instrumentor = instrumentor_class()
        _done.add(name)
        if _shares_instrumentor_with_one_done(name):
            return False  # langchain and langgraph: enabled once, for both
        if instrumentor.is_instrumented_by_opentelemetry:
            logger.info("instrumentation: already instrumented by the application", framework=name)
            return False
        instrumentor.instrument(
            tracer_provider=tracing_state().provider,
            config=_trace_config(content_capture_enabled()),
        )
        return True


def _add_span_processor(name: str) -> bool:
    module_name, class_name, extra, scope_name = FRAMEWORK_SPAN_PROCESSORS[name]
    with _lock:
        if name in _done:
            return False
        try:
            processor_class = getattr(import_module(module_name), class_name)
        except ImportError as error:
            raise MissingExtraError(f"tracing {name}", extra) from error
        tracing_state().router.add_transform(scope_name, processor_class())
        _done.add(name)
        return True
