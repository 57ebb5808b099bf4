"""``agentrig run --run-id`` / ``--resume``: a run SIGKILLed mid-operator resumes from the CLI.

Each run is a real ``agentrig`` process. ``AGENTRIG_KILL_AT=action#1`` makes the first one kill
itself with SIGKILL right after the operator's first action reached the plant's ledger, before
the framework saw its result; the second process resumes it from the shared SQLite store.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.process import agentrig

SCENARIO = "closed-discharge-valve"
INSTALLED = {"langchain": "langchain", "autogen": "autogen_agentchat", "crewai": "crewai"}

pytestmark = pytest.mark.allow_model_requests  # each process talks to its own reference model


def _keys(workdir: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(workdir / "state.db") as db:
        return sorted(db.execute("SELECT key, version FROM agentrig_state"))


def _result(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, (done.stdout, done.stderr)
    result: dict[str, object] = json.loads(lines[-1])
    return result


def _killed_mid_operator(workdir: Path, framework: str, run_id: str = "incident-7") -> None:
    killed = agentrig(
        workdir,
        "run", "-f", framework, "-s", SCENARIO, "--run-id", run_id, "--json",
        kill_at="action#1",
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]


@pytest.mark.parametrize(
    "framework",
    [
        "plain",
        pytest.param("langchain", marks=pytest.mark.slow),
        pytest.param("autogen", marks=pytest.mark.slow),
        pytest.param("crewai", marks=pytest.mark.slow),
    ],
)
def test_a_run_killed_mid_operator_resumes_from_the_cli_acting_once(
    framework: str, tmp_path: Path
) -> None:
    if framework in INSTALLED:
        pytest.importorskip(INSTALLED[framework])
    _killed_mid_operator(tmp_path, framework)
    resumed = agentrig(tmp_path, "run", "--resume", "incident-7", "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = _result(resumed)
    assert (result["run_id"], result["framework"], result["status"]) == (
        "incident-7",
        framework,
        "passed",
    )
    assert result["attempts"] == 2
    # The whole run's actions, from the ledger: the first process's valve, then the restart.
    actions = [(a["tool"], a["args"]["device_id"], a["ok"]) for a in result["actions"]]  # type: ignore[attr-defined, index]
    assert actions == [("set_valve", "valve-12", True), ("restart_device", "pump-07", True)]
    # Finished: only its record is left, and a second resume is refused.
    assert [key for key, _ in _keys(tmp_path)] == ["runs/incident-7/record"]
    again = agentrig(tmp_path, "run", "--resume", "incident-7")
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "error: run 'incident-7' has finished (passed) after 2 attempt(s): there is nothing to "
        "resume"
    )


def test_a_resume_that_cannot_be_done_says_why_and_changes_nothing(tmp_path: Path) -> None:
    _killed_mid_operator(tmp_path, "plain")
    before = _keys(tmp_path)
    cases = {
        ("--resume", "nope"): f"error: no run 'nope' in sqlite:///{tmp_path / 'state.db'}",
        ("--resume", "incident-7", "-f", "langchain"): "framework: the run has 'plain', you "
        "asked for 'langchain'",
        ("--resume", "incident-7", "-s", "stuck-pressure-sensor"): "scenario: the run has "
        "'closed-discharge-valve', you asked for 'stuck-pressure-sensor'",
        ("--resume", "incident-7", "--run-id", "x"): "error: --resume RUN_ID continues one run",
    }
    for args, expected in cases.items():
        done = agentrig(tmp_path, "run", *args)
        assert done.returncode == 2, (args, done.stderr)
        (line,) = done.stderr.splitlines()
        assert expected in line, (args, line)
        assert _keys(tmp_path) == before  # nothing claimed, nothing written


def test_a_resume_on_another_store_names_the_store_the_run_used(tmp_path: Path) -> None:
    _killed_mid_operator(tmp_path, "plain")
    other = tmp_path / "other.db"
    done = agentrig(
        tmp_path, "run", "--resume", "incident-7", "--state", f"sqlite:///{other}", state=None
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line == (
        f"error: no run 'incident-7' in sqlite:///{other}: it ran on --state "
        f"sqlite:///{tmp_path / 'state.db'} (its run.json says so); resume it with that --state"
    )


def test_a_new_run_may_not_take_the_id_of_an_existing_one(tmp_path: Path) -> None:
    _killed_mid_operator(tmp_path, "plain")
    done = agentrig(tmp_path, "run", "-f", "plain", "-s", SCENARIO, "--run-id", "incident-7")
    assert done.returncode == 2, done.stderr
    assert "run id 'incident-7' is already taken" in done.stderr
    assert "--resume incident-7" in done.stderr
