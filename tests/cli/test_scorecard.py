"""``agentrig compare --scorecard``: the standard battery folded into one readiness scorecard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.process import agentrig

pytestmark = pytest.mark.allow_model_requests  # the battery talks to its reference models


@pytest.mark.slow
def test_the_battery_runs_every_profile_and_a_crash_test_into_one_scorecard(
    tmp_path: Path,
) -> None:
    done = agentrig(
        tmp_path, "compare", "--scorecard", "-f", "plain", "-s", "closed-discharge-valve",
        "--out", "card", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    card = tmp_path / "card"
    assert sorted(path.name for path in card.iterdir() if path.is_dir()) == [
        "flaky",
        "hostile",
        "kill",
        "none",
    ]
    numbers = json.loads((card / "scorecard.json").read_text(encoding="utf-8"))
    assert numbers["profiles"] == ["none", "flaky", "hostile"]
    (row,) = numbers["rows"]
    assert row["framework"] == "plain"
    assert row["runs"] == {"none": 1, "flaky": 1, "hostile": 1}
    assert row["pass_rate"]["none"] == 1.0
    assert (row["crash_runs"], row["kills"], row["survived"]) == (1, 2, 1)
    assert row["duplicated_actions"] == 0
    page = (card / "scorecard.html").read_text(encoding="utf-8")
    assert "<svg" in page
    assert "plain" in page
    assert "scorecard: " in done.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--faults", "flaky"], "--scorecard runs the fault profiles none, flaky, hostile itself"),
        (["--replay"], "--scorecard injects faults and kills runs: it needs a live model"),
        (["--state", "memory://"], "--kill needs a state store that outlives a process"),
        (["--kill", "1"], "--scorecard runs its own --kill 2 battery"),
    ],
)
def test_the_battery_refuses_what_it_cannot_run_with(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    done = agentrig(tmp_path, "compare", "--scorecard", "-f", "plain", *extra, state=None)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert message in line
    assert list(tmp_path.iterdir()) == []
