"""Scenario packs from the command line: an installed distribution's incidents are listed with
their source and run by id, in a process that knows nothing else about them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.plant.test_scenario_sources import make_pack

REPO = Path(__file__).resolve().parents[2]


def _agentrig(site: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "agentrig.cli", *arguments],
        cwd=site,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.allow_model_requests  # the run talks to its own reference model, in its process
def test_an_installed_pack_is_listed_with_its_source_and_runs_by_id(tmp_path: Path) -> None:
    make_pack(tmp_path, ["acme-pump-trip"])
    listed = _agentrig(tmp_path, "scenarios", "--json")
    assert listed.returncode == 0, listed.stderr
    sources = {item["id"]: item["source"] for item in json.loads(listed.stdout)}
    assert sources["acme-pump-trip"] == "pack:acme-incidents"
    assert sources["closed-discharge-valve"] == "catalogue"
    table = _agentrig(tmp_path, "scenarios")
    assert "pack:acme-incidents" in table.stdout
    ran = _agentrig(
        tmp_path, "run", "-f", "plain", "-s", "acme-pump-trip", "--state", "memory://",
        "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert (result["scenario"], result["scenario_source"]) == (
        "acme-pump-trip",
        "pack:acme-incidents",
    )
    assert result["status"] == "passed"
