"""``agentrig compare --resume DIR``: an interrupted comparison goes on, keeping what finished.

The comparison is a real ``agentrig`` process, stopped once by SIGKILL (from inside, at its 20th
model call: the second run is half done) and once by SIGINT (Ctrl-C after the first result).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.process import AGENTRIG, agentrig

SCENARIOS = "closed-discharge-valve,stuck-pressure-sensor,breaker-trip-cooling-pump"

pytestmark = pytest.mark.allow_model_requests  # each process talks to its own reference model


def _selection(folder: Path) -> list[str]:
    """1 framework x 3 scenarios x 2 repeats, one at a time, into ``folder``."""
    return ["compare", "-f", "plain", "-s", SCENARIOS, "--repeats", "2", "--concurrency", "1",
            "--out", str(folder)]  # fmt: skip


def _results(folder: Path) -> list[dict[str, object]]:
    lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _check_complete(folder: Path) -> list[dict[str, object]]:
    rows = _results(folder)
    latest = {row["run_id"]: row for row in rows}
    assert len(latest) == 6  # 1 framework x 3 scenarios x 2 repeats
    assert {row["status"] for row in latest.values()} == {"passed"}
    assert len(rows) == len(latest)  # nothing that finished ran again
    assert (folder / "report.html").is_file()
    return list(latest.values())


def test_compare_resumes_after_the_whole_process_was_sigkilled(tmp_path: Path) -> None:
    folder = tmp_path / "cmp"
    killed = agentrig(tmp_path, *_selection(folder), kill_at="llm#20", timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(_results(folder)) == 1  # the first run finished; the second was cut mid-way
    resumed = agentrig(tmp_path, "compare", "--resume", str(folder), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = _check_complete(folder)
    assert sorted(row["attempts"] for row in rows) == [1, 1, 1, 1, 1, 2]  # the cut one resumed


def test_compare_resumes_after_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "cmp"
    process = subprocess.Popen(
        [AGENTRIG, *_selection(folder), "--state", f"sqlite:///{tmp_path / 'state.db'}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    results = folder / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (results.is_file() and results.read_text(encoding="utf-8").strip()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the comparison finished before Ctrl-C landed")
    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted: kept the" in stderr
    resumed = agentrig(tmp_path, "compare", "--resume", str(folder), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _check_complete(folder)


def test_resume_refuses_a_new_selection_and_a_folder_without_a_matrix(tmp_path: Path) -> None:
    done = agentrig(tmp_path, "compare", "--resume", str(tmp_path), "-f", "plain")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --resume DIR goes on with the comparison as it was asked: drop -f"
    )
    done = agentrig(tmp_path, "compare", "--resume", str(tmp_path))
    assert done.returncode == 2
    assert f"error: --resume {tmp_path}: no matrix.json there" in done.stderr
