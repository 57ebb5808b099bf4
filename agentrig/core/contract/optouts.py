"""Keep the frameworks from phoning home, which offline costs tens of seconds or hangs.

Measured on this project's machines with no internet: CrewAI's telemetry adds 10-30 s at process
exit, its tracing prompt waits 20 s on a terminal, its version check asks PyPI on every crew;
LangSmith tracing, when on, adds 12-89 s. Every agentrig entry point (the CLI, each adapter module,
the test suite) calls :func:`disable_phone_home` before any framework is imported.

``OTEL_SDK_DISABLED`` is deliberately *not* used: it silences CrewAI but also turns agentrig's own
OpenTelemetry tracer into a no-op.
"""

from __future__ import annotations

import os

__all__ = ["PHONE_HOME_OPT_OUTS", "disable_phone_home"]

PHONE_HOME_OPT_OUTS: dict[str, str] = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    # AutoGen's ~55 internal runtime spans per team run drown the GenAI spans we compare.
    "AUTOGEN_DISABLE_RUNTIME_TRACING": "true",
    "HF_HUB_OFFLINE": "1",
}


def disable_phone_home() -> None:
    """Set each opt-out unless the user has set that variable already (their choice wins)."""
    for name, value in PHONE_HOME_OPT_OUTS.items():
        os.environ.setdefault(name, value)
