"""`agentrig model serve`: a standalone reference model on the given (or a free) port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agentrig.cli import app

# These tests ask the servers they start, on purpose.
pytestmark = pytest.mark.allow_model_requests

AGENTRIG = str(Path(sys.executable).with_name("agentrig"))  # the installed console script


def _serve(*options: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``agentrig model serve --port 0 OPTIONS``; the process and its base URL once up."""
    process = subprocess.Popen(
        [AGENTRIG, "model", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        assert process.stderr is not None
        raise AssertionError(
            f"agentrig model serve exited {process.returncode}: {process.stderr.read()}"
        )
    assert line.startswith("reference model on http://127.0.0.1:")
    base_url = line.split()[3]
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{base_url.removesuffix('/v1')}/health")
            return process, base_url
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("the server did not come up") from None
            time.sleep(0.05)


def test_serve_runs_until_stopped() -> None:
    env = {**os.environ, "AGENTRIG_REFERENCE_API_KEY": "k3y"}
    process, base_url = _serve("--faults", "flaky", "--api-key-required", env=env)
    try:
        response = httpx.get(f"{base_url}/faults", headers={"authorization": "Bearer k3y"})
        assert response.json()["profile"] == "flaky"
        assert httpx.get(f"{base_url}/models").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Finished server process" in errors


def test_sigterm_is_not_held_by_a_request_its_client_gave_up_on() -> None:
    process, base_url = _serve()
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{base_url}/chat/completions",
                json={
                    "model": "agentrig-operator",
                    "messages": [{"role": "user", "content": "hi"}],
                },
                headers={"x-agentrig-latency": "3600s"},
                timeout=0.5,
            )
        time.sleep(0.2)  # the server notices the hang-up
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        # A generous correctness bound (uvicorn's graceful shutdown is set to 1 s), not a speed
        # target: before the fix the server never exited.
        _, errors = process.communicate(timeout=5)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # uvicorn shuts down cleanly, then re-raises the signal it caught: a SIGTERM exit status.
    assert process.returncode == -signal.SIGTERM, errors
    assert took < 5
    assert "Finished server process" in errors
    # The hour-long wait ended when the client hung up: shutdown had nothing left to cancel.
    assert "timeout graceful shutdown exceeded" not in errors


def test_bad_options_fail_with_a_message() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["model", "serve", "--faults", "chaos"])
    assert result.exit_code == 2
    assert "unknown fault profile 'chaos'" in result.output
    result = runner.invoke(app, ["model", "serve", "--latency", "soon"])
    assert result.exit_code == 2
    assert "invalid latency spec" in result.output
    result = runner.invoke(
        app, ["model", "serve", "--api-key-required"], env={"AGENTRIG_REFERENCE_API_KEY": ""}
    )
    assert result.exit_code == 2
    assert "AGENTRIG_REFERENCE_API_KEY" in result.output
