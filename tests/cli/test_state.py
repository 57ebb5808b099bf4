"""``agentrig state prune``: runs nobody resumed are listed first and deleted by age."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from tests.cli.process import agentrig

pytestmark = pytest.mark.allow_model_requests  # the runs talk to their reference model


def _runs(workdir: Path) -> dict[str, int]:
    with sqlite3.connect(workdir / "state.db") as db:
        keys = [key for (key,) in db.execute("SELECT key FROM agentrig_state")]
    counts: dict[str, int] = {}
    for key in keys:
        run = key.split("/")[1]
        counts[run] = counts.get(run, 0) + 1
    return counts


def test_prune_lists_then_deletes_what_no_one_resumed(tmp_path: Path) -> None:
    run = ["run", "-f", "plain", "-s", "closed-discharge-valve"]
    killed = agentrig(tmp_path, *run, "--run-id", "killed", kill_at="action#1")
    assert killed.returncode == -signal.SIGKILL
    assert agentrig(tmp_path, *run, "--run-id", "done").returncode == 0
    kept = agentrig(tmp_path, *run, "--run-id", "kept", "--keep-state")
    assert kept.returncode == 0
    before = _runs(tmp_path)
    # The finished run kept only its record; the killed one and --keep-state kept their plant.
    assert before["done"] == 1
    assert before["killed"] >= 2
    assert before["kept"] >= 2

    listed = agentrig(tmp_path, "state", "prune", "--older-than", "0s", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    for run_id, status in (("killed", "running"), ("done", "finished"), ("kept", "finished")):
        assert any(run_id in line and status in line for line in listed.stdout.splitlines())
    total = sum(before.values())
    assert f"would delete {total} key(s) of 3 run(s); nothing deleted" in listed.stdout
    assert _runs(tmp_path) == before

    recent = agentrig(tmp_path, "state", "prune")  # default: older than 7 days
    assert "deleted 0 key(s) of 0 run(s)" in recent.stdout
    assert _runs(tmp_path) == before

    pruned = agentrig(tmp_path, "state", "prune", "--older-than", "0s")
    assert f"deleted {total} key(s) of 3 run(s)" in pruned.stdout
    assert _runs(tmp_path) == {}
    resumed = agentrig(tmp_path, "run", "--resume", "killed")
    assert resumed.returncode == 2
    assert "no run 'killed'" in resumed.stderr


def test_an_age_that_is_not_one_is_refused(tmp_path: Path) -> None:
    done = agentrig(tmp_path, "state", "prune", "--older-than", "soon")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert "'soon': give an age like 30m, 12h, 7d or 2w" in line
