"""Provider set-up: idempotent, adopts an application's own provider, OTLP chosen from settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from agentrig.core.telemetry import setup_tracing
from agentrig.core.telemetry.tracing import _otlp_exporter
from agentrig.exceptions import ConfigurationError


def _run(script: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_setup_is_idempotent() -> None:
    assert setup_tracing() is setup_tracing()


def test_an_application_provider_is_adopted_not_replaced() -> None:
    result = _run(
        """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        theirs = TracerProvider()
        exporter = InMemorySpanExporter()
        theirs.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(theirs)

        from agentrig.core.telemetry import Telemetry, setup_telemetry
        state = setup_telemetry(log_json=True)
        with Telemetry.for_run("r1", "plain") as t, t.workflow("w"):
            pass
        spans = exporter.get_finished_spans()
        print(json.dumps({
            "created": state.created,
            "same": state.provider is theirs and trace.get_tracer_provider() is theirs,
            "names": [s.name for s in spans],
            "run_ids": [s.attributes.get("agentrig.run_id") for s in spans],
        }))
        """
    )
    assert result == {
        "created": False,
        "same": True,
        "names": ["invoke_workflow w"],
        "run_ids": ["r1"],
    }


@pytest.mark.slow  # a fresh interpreter per protocol (the provider is set up once per process)
@pytest.mark.parametrize(
    ("protocol", "expected"),
    [("", "http/protobuf http://127.0.0.1:4318"), ("grpc", "grpc http://127.0.0.1:4317")],
)
def test_otlp_is_added_from_the_standard_variables(protocol: str, expected: str) -> None:
    endpoint = "http://127.0.0.1:4317" if protocol == "grpc" else "http://127.0.0.1:4318"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    if protocol:
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
    result = _run(
        """
        import json
        from agentrig.core.telemetry import setup_tracing
        print(json.dumps({"otlp": setup_tracing().otlp}))
        """,
        **env,
    )
    assert result == {"otlp": expected}


def test_an_explicit_http_endpoint_is_a_base_url() -> None:
    exporter = _otlp_exporter("http://127.0.0.1:4318", "http/protobuf")
    assert exporter is not None
    assert exporter[1] == "http/protobuf http://127.0.0.1:4318/v1/traces"


@pytest.mark.parametrize(
    ("endpoint", "protocol", "message"),
    [
        ("http://127.0.0.1:4318", "http/json", "unsupported OTLP protocol 'http/json'"),
        ("127.0.0.1:4318", "http/protobuf", "needs a scheme"),
    ],
)
def test_an_unusable_otlp_setting_is_explained(endpoint: str, protocol: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _otlp_exporter(endpoint, protocol)
