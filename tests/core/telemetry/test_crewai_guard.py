"""CrewAI never replaces agentrig's TracerProvider, with or without its telemetry opt-outs.

What CrewAI 1.15 does (crewai_core/telemetry.py, crewai/telemetry/**): its anonymous telemetry
builds a private ``TracerProvider`` exporting to telemetry.crewai.com unless
``CREWAI_DISABLE_TELEMETRY`` / ``CREWAI_DISABLE_TRACKING`` / ``OTEL_SDK_DISABLED`` is set, and its
execution tracing builds another unless ``CREWAI_TRACING_ENABLED=false``. Older releases installed
theirs as the global provider in ``set_tracer()``; the guard is that agentrig installs its own
first and OpenTelemetry refuses to replace a global provider once set. Each case runs in a fresh
interpreter, as the global provider and CrewAI's telemetry singleton are set once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, os, sys
    from opentelemetry import trace
    from agentrig.core.telemetry import capture_telemetry, global_provider_is_ours, setup_telemetry

    from agentrig.core.telemetry import instrument_framework

    setup_telemetry(log_json=True)
    if sys.argv[1] == "telemetry-on":  # the worst case: a user turned CrewAI's telemetry back on
        for name in ("CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_TRACKING"):
            os.environ.pop(name, None)
    from crewai.telemetry import Telemetry as CrewTelemetry

    crew_telemetry = CrewTelemetry()  # a process-wide singleton, built on first use
    crew_telemetry.set_tracer()
    instrument_framework("crewai")  # OpenInference's CrewAI instrumentor on agentrig's provider
    result = {
        "crewai_ready": crew_telemetry.ready,
        "ours_after_set_tracer": global_provider_is_ours(),
    }
    if crew_telemetry.ready:
        # What CrewAI releases before 0.100 did in set_tracer():
        trace.set_tracer_provider(crew_telemetry.provider)
        result["ours_after_override"] = global_provider_is_ours()
        crew_telemetry.ready = False  # nothing may leave this machine at exit
    with capture_telemetry(capture_logs=False) as captured:
        with trace.get_tracer("a.library").start_as_current_span("probe"):
            pass
    result["probe_reached_agentrig"] = captured.span_names() == ["probe"]
    print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)
    """
)


@pytest.mark.slow  # imports CrewAI in two fresh interpreters: ~5 s each
@pytest.mark.parametrize("mode", ["opt-outs", "telemetry-on"])
def test_crewai_cannot_replace_agentrigs_provider(mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ours_after_set_tracer"] is True
    assert result["probe_reached_agentrig"] is True
    if mode == "opt-outs":
        assert result["crewai_ready"] is False  # agentrig's opt-outs keep CrewAI's provider unbuilt
    else:
        assert result["crewai_ready"] is True
        assert result["ours_after_override"] is True
