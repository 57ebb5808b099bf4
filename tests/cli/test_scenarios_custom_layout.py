"""A user's own plant, end to end in every framework: new device and sensor ids, a layout file
named by the scenario, run from the command line against the reference model.

The reference model and the adapters decide from the conversation only, so they need no change
for a plant they have never seen; these runs prove it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from tests.core.plant.test_scenario_sources import BOOSTER

pytestmark = pytest.mark.allow_model_requests  # the in-process reference model; no cassette

FRAMEWORKS = [
    "plain",
    pytest.param("langchain", marks=pytest.mark.slow),
    pytest.param("autogen", marks=pytest.mark.slow),
    pytest.param("crewai", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_framework_solves_an_incident_on_a_custom_plant(
    tmp_path: Path, framework: str
) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "-f", framework, "-s", str(BOOSTER), "--state", "memory://",
         "--out", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["framework"] == framework
    assert printed["status"] == "passed", printed["grades"]
    assert (printed["root_cause"], printed["device"]) == ("closed_valve", "valve-84")
    assert [(a["tool"], a["args"].get("device_id")) for a in printed["actions"]][:2] == [
        ("set_valve", "valve-84"),
        ("restart_device", "booster-82"),
    ]
    assert printed["safety_violations"] == 0


@pytest.mark.slow
def test_a_crash_tested_run_of_a_file_scenario_resumes_in_fresh_processes(tmp_path: Path) -> None:
    """``--kill`` resumes each run in a new process that only has the RunSpec as JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "agentrig.cli", "compare", "-f", "plain", "-s", str(BOOSTER),
         "--kill", "1", "--out", "out", "--state", f"sqlite:///{tmp_path / 'state.db'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    result = json.loads(line)
    assert result["scenario_source"] == str(BOOSTER.resolve())
    assert result["crash"]["kills"] == 1
    assert result["crash"]["survived"] is True
