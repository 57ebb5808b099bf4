"""The process's TracerProvider: set up once, shared with the application if it has its own.

:func:`setup_tracing` is idempotent. What it does depends on what it finds:

* no provider yet (the API's proxy): agentrig creates an SDK ``TracerProvider`` and installs it as
  the global one. OpenTelemetry refuses to replace a global provider once set, so nothing that
  runs later (CrewAI included) can swap it out;
* an SDK ``TracerProvider`` the application installed: agentrig adds its processors to it and
  leaves the rest (sampler, exporters, resource) alone -- the application's backend gets the
  agent spans too;
* some other provider: agentrig keeps a private SDK provider, hands it to every instrumentation
  explicitly, and logs that libraries using the global provider go elsewhere.

Exporters: the per-run JSONL files (via :class:`~agentrig.core.telemetry.processors.SpanRouter`)
always; OTLP when an endpoint is given or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, over ``http/protobuf`` (default) or ``grpc`` per
``OTEL_EXPORTER_OTLP_PROTOCOL``, sent from a background thread with every attempt bounded
(``export.py``: a dead collector costs one warning, never a run's time), each LLM call's token
usage on one span (``usage_once.py``). ``OTEL_SDK_DISABLED`` is never set by agentrig: it turns
every SDK provider, ours included, into a no-op.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from agentrig._version import __version__
from agentrig.core.telemetry import semconv
from agentrig.core.telemetry.export import DEFAULT_EXPORT_TIMEOUT_S, BackgroundExportProcessor
from agentrig.core.telemetry.processors import RunStampingProcessor, SpanRouter
from agentrig.core.telemetry.usage_once import UsageOnce
from agentrig.exceptions import ConfigurationError

__all__ = [
    "TracingState",
    "force_flush",
    "get_tracer",
    "global_provider_is_ours",
    "setup_tracing",
    "tracing_state",
]

logger = structlog.get_logger(__name__)

OTLP_PROTOCOLS = ("http/protobuf", "grpc")


@dataclass(frozen=True, slots=True)
class TracingState:
    """What :func:`setup_tracing` set up.

    Attributes:
        provider: the SDK provider agentrig's spans go to (ours or the application's).
        router: hands finished spans to per-run sinks and test captures.
        created: agentrig created ``provider`` (False: adopted the application's).
        is_global: ``provider`` is the global one.
        otlp: "<protocol> <endpoint>" of the OTLP exporter agentrig added, or "".
        exporter: the background processor sending spans over OTLP, or None.
    """

    provider: TracerProvider
    router: SpanRouter
    created: bool
    is_global: bool
    otlp: str = ""
    exporter: BackgroundExportProcessor | None = None


_lock = threading.Lock()
_state: TracingState | None = None


def _resource() -> Resource:
    attributes: dict[str, str] = {SERVICE_VERSION: __version__}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = "agentrig"
    return Resource.create(attributes)


def _export_timeout_s() -> float | None:
    """The bound of one export attempt: the OTLP timeout variables if set, else agentrig's."""
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    ):
        return None  # the exporter reads them itself
    return DEFAULT_EXPORT_TIMEOUT_S


def _otlp_exporter(endpoint: str | None, protocol: str | None) -> tuple[SpanExporter, str] | None:
    env_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint and not env_endpoint:
        return None
    protocol = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in OTLP_PROTOCOLS:
        raise ConfigurationError(
            f"unsupported OTLP protocol {protocol!r}: use one of {', '.join(OTLP_PROTOCOLS)} "
            "(OTEL_EXPORTER_OTLP_PROTOCOL or --otlp-protocol); the Python SDK has no http/json"
        )
    if endpoint and not urlsplit(endpoint).scheme:
        raise ConfigurationError(
            f"OTLP endpoint {endpoint!r} needs a scheme, e.g. http://127.0.0.1:4318 (HTTP) "
            "or http://127.0.0.1:4317 (gRPC)"
        )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        # With no explicit endpoint the exporter reads the OTEL_EXPORTER_OTLP_* variables itself.
        grpc = GrpcSpanExporter(endpoint=endpoint, timeout=_export_timeout_s())
        return grpc, (f"grpc {endpoint or env_endpoint}")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    if endpoint:
        # Like OTEL_EXPORTER_OTLP_ENDPOINT, an explicit endpoint is the collector's base URL.
        if urlsplit(endpoint).path.rstrip("/") == "":
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        return HttpSpanExporter(endpoint=endpoint, timeout=_export_timeout_s()), (
            f"http/protobuf {endpoint}"
        )
    return HttpSpanExporter(timeout=_export_timeout_s()), f"http/protobuf {env_endpoint}"


def setup_tracing(
    *, otlp_endpoint: str | None = None, otlp_protocol: str | None = None
) -> TracingState:
    """Set up (once) the provider agentrig's spans go to; later calls return the same state.

    A later call with an ``otlp_endpoint`` adds that exporter if none was added yet.

    Raises:
        ConfigurationError: the OTLP protocol or endpoint cannot be used.
    """
    global _state
    with _lock:
        if _state is not None:
            if otlp_endpoint and not _state.otlp:
                _state = _add_otlp(_state, otlp_endpoint, otlp_protocol)
            return _state
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            provider, created, is_global = current, False, True
            logger.info("tracing: adding agentrig's processors to the application's provider")
        else:
            provider, created = TracerProvider(resource=_resource()), True
            if isinstance(current, trace.ProxyTracerProvider):
                trace.set_tracer_provider(provider)
            is_global = trace.get_tracer_provider() is provider
            if not is_global:
                logger.warning(
                    "tracing: a non-SDK global TracerProvider is installed; agentrig keeps its "
                    "own and passes it to its instrumentations, other libraries' spans go to "
                    "the global one",
                    global_provider=type(current).__name__,
                )
        if getattr(provider, "_disabled", False):
            logger.error(
                "tracing: OTEL_SDK_DISABLED=true makes every span a no-op, so runs get no trace "
                "file and no LLM metrics; unset it (agentrig quiets CrewAI with "
                "CREWAI_DISABLE_TELEMETRY instead)"
            )
        router = SpanRouter()
        # Stamping first, so every later processor (and exporter) sees the run labels.
        _add_processor(provider, RunStampingProcessor())
        _add_processor(provider, router)
        state = TracingState(provider=provider, router=router, created=created, is_global=is_global)
        # The application's own provider brings its own exporters; env-configured OTLP is ours
        # to add only on a provider we created (else spans would be exported twice).
        if created or otlp_endpoint:
            state = _add_otlp(state, otlp_endpoint, otlp_protocol)
        _state = state
        return state


def _add_processor(provider: TracerProvider, processor: SpanProcessor) -> None:
    provider.add_span_processor(processor)


def _add_otlp(state: TracingState, endpoint: str | None, protocol: str | None) -> TracingState:
    exporter = _otlp_exporter(endpoint, protocol)
    if exporter is None:
        return state
    span_exporter, description = exporter
    processor = BackgroundExportProcessor(
        span_exporter, description=description, transform=UsageOnce()
    )
    _add_processor(state.provider, processor)
    logger.info("tracing: exporting spans over OTLP", otlp=description)
    return TracingState(
        provider=state.provider,
        router=state.router,
        created=state.created,
        is_global=state.is_global,
        otlp=description,
        exporter=processor,
    )


def tracing_state() -> TracingState:
    """The current set-up, setting it up with defaults first if needed."""
    return _state if _state is not None else setup_tracing()


def get_tracer() -> trace.Tracer:
    """agentrig's tracer, from agentrig's provider (never a global lookup)."""
    return tracing_state().provider.get_tracer(
        semconv.TRACER_NAME, __version__, schema_url=semconv.SCHEMA_URL
    )


def force_flush(timeout_millis: int = 10_000) -> bool:
    """Push buffered spans to every exporter (OTLP batches); True when all finished in time."""
    return tracing_state().provider.force_flush(timeout_millis)


def global_provider_is_ours() -> bool:
    """Whether the global provider is still the one agentrig set up (the CrewAI guard's check)."""
    return trace.get_tracer_provider() is tracing_state().provider
