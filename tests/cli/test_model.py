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

AGENTRIG = str(Path(sys.executable).with_name("agentrig"))  # the installed console script


@pytest.mark.allow_model_requests  # it asks the server it started, on purpose
def test_serve_runs_until_stopped() -> None:
    env = {**os.environ, "AGENTRIG_REFERENCE_API_KEY": "k3y"}
    process = subprocess.Popen(
        [
            AGENTRIG,
            "model",
            "serve",
            "--port",
            "0",
            "--faults",
            "flaky",
            "--api-key-required",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
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
                response = httpx.get(f"{base_url}/faults", headers={"authorization": "Bearer k3y"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.05)
        assert response.json()["profile"] == "flaky"
        assert httpx.get(f"{base_url}/models").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Finished server process" in errors


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
