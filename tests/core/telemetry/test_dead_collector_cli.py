"""``agentrig run --otlp-endpoint`` at a port nobody listens on: the run is not slowed, one warning.

Two real CLI processes on the committed cassettes, without and with the dead endpoint. Before the
fix the dead one's ``wall_seconds`` was 7.8 s against 0.36 s (the exporter's retries ran on the
event loop, inside the run's time) and three warnings were logged. The bound below is generous on
purpose -- it is there to catch seconds of retries, not to time anything
(``benchmarks/otlp_export.py`` measures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(tmp_path: Path, name: str, *extra: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from agentrig.cli import main; main()",
            "run",
            "-f",
            "plain",
            "-s",
            "blocked-discharge",
            "--cassettes",
            str(ROOT / "cassettes"),
            "--state",
            f"sqlite:///{tmp_path}/{name}.db",
            "--out",
            str(tmp_path / name),
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    logs = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return result, [log for log in logs if log.get("level") == "warning"]


@pytest.mark.slow
def test_a_dead_collector_costs_one_warning_and_no_run_time(tmp_path: Path) -> None:
    live, live_warnings = _run(tmp_path, "live")
    dead, dead_warnings = _run(tmp_path, "dead", "--otlp-endpoint", "http://127.0.0.1:9")

    assert live["status"] == dead["status"] == "passed"
    assert dead["wall_seconds"] < 3 * live["wall_seconds"] + 1.0, (live, dead)
    assert dead["llm_seconds"] < 3 * live["llm_seconds"] + 1.0, (live, dead)
    assert live_warnings == []
    (warning,) = dead_warnings
    assert warning["event"].startswith("telemetry: OTLP export failed")
    assert warning["otlp"] == "http/protobuf http://127.0.0.1:9/v1/traces"
