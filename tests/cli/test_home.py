"""A run writes nothing under HOME of its own; CrewAI's per-project folder goes to a temp folder.

Each case runs the real console command in a subprocess whose HOME is an empty folder, from a
working folder whose name CrewAI would otherwise use (``~/.local/share/<that name>/``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
SCENARIO = "closed-discharge-valve"


def _agentrig(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # The test process set these itself; the command must choose them on its own.
        if name != "CREWAI_STORAGE_DIR" and not name.startswith("XDG_")
    }
    env["HOME"] = str(home)
    command = [sys.executable, "-c", "from agentrig.cli import main; main()", *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _under(home: Path) -> list[str]:
    return sorted(str(path.relative_to(home)) for path in home.rglob("*"))


@pytest.fixture
def home_and_project(tmp_path: Path) -> tuple[Path, Path]:
    home, project = tmp_path / "home", tmp_path / "my-project"
    home.mkdir()
    project.mkdir()
    return home, project


def test_an_unknown_framework_writes_nothing_under_home(
    home_and_project: tuple[Path, Path],
) -> None:
    home, project = home_and_project
    done = _agentrig(home, project, "run", "-f", "nosuch", "-s", SCENARIO)
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown framework 'nosuch'")
    assert _under(home) == []
    assert list(project.iterdir()) == []


def test_a_plain_run_writes_nothing_under_home(home_and_project: tuple[Path, Path]) -> None:
    home, project = home_and_project
    args = ["run", "-f", "plain", "-s", SCENARIO, "--state", "memory://", "--out", "out"]
    done = _agentrig(home, project, *args, "--cassettes", str(CASSETTES), "--json")
    assert done.returncode == 0, done.stderr
    assert _under(home) == []


@pytest.mark.slow
def test_a_crewai_run_leaves_only_crewais_own_user_folders(
    home_and_project: tuple[Path, Path],
) -> None:
    home, project = home_and_project
    args = ["run", "-f", "crewai", "-s", SCENARIO, "--state", "memory://", "--out", "out"]
    done = _agentrig(home, project, *args, "--cassettes", str(CASSETTES), "--json")
    assert done.returncode == 0, done.stderr
    # No ~/.local/share/my-project/: CREWAI_STORAGE_DIR sends it to the temp directory.
    # `import crewai` itself creates its CLI settings folder and its login-token key; CrewAI
    # has no setting for either (docs/adapters-crewai.md), and agentrig does not patch it.
    assert _under(home) == [
        ".config",
        ".config/crewai",
        ".local",
        ".local/share",
        ".local/share/crewai",
        ".local/share/crewai/credentials",
        ".local/share/crewai/credentials/secret.key",
    ]
