"""``agentrig compare --kill N``: crash testing from the CLI, seeded, with the survival numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.process import agentrig

pytestmark = pytest.mark.allow_model_requests  # each attempt talks to its own reference model


def _compare_kill(workdir: Path, out: str, seed: str) -> list[dict[str, object]]:
    done = agentrig(
        workdir, "compare", "-f", "plain", "-s", "closed-discharge-valve", "--kill", "2",
        "--kill-seed", seed, "--out", out, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = (workdir / out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.slow
def test_the_same_command_kills_at_the_same_points_and_the_run_survives(tmp_path: Path) -> None:
    (first,) = _compare_kill(tmp_path, "a", "5")
    (second,) = _compare_kill(tmp_path, "b", "5")
    crash, again = first["crash"], second["crash"]
    assert isinstance(crash, dict)
    assert isinstance(again, dict)
    assert crash["kill_points"] == again["kill_points"]
    assert len(crash["kill_points"]) == 2
    assert crash["kills"] == 2
    assert first["attempts"] == 3
    assert (crash["survived"], crash["duplicated_actions"]) == (True, 0)
    assert first["status"] == crash["control_status"] == "passed"
    # The plain loop keeps no conversation: a killed role starts over and pays for it again.
    assert crash["extra_llm_calls"] > 0


def test_kill_refuses_a_store_that_dies_with_its_process(tmp_path: Path) -> None:
    done = agentrig(
        tmp_path, "compare", "-f", "plain", "--kill", "1", "--state", "memory://", state=None
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: --kill needs a state store that outlives a process")
    assert list(tmp_path.iterdir()) == []
