"""Run the installed ``agentrig`` command as a real process, as a user's shell would.

Crash and resume tests need real processes: a SIGKILL must take the whole interpreter down, and
the next process must start from nothing but the state store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AGENTRIG = str(Path(sys.executable).with_name("agentrig"))  # the installed console script


def agentrig(
    workdir: Path,
    *args: str,
    state: str | None = "sqlite",
    kill_at: str | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """``agentrig ARGS`` in ``workdir``.

    Args:
        workdir: the working directory (and where the default SQLite state file goes).
        args: the command line after ``agentrig``.
        state: ``"sqlite"`` adds ``--state sqlite:///<workdir>/state.db``; None adds nothing.
        kill_at: arm ``AGENTRIG_KILL_AT`` (a kill point such as ``action#1``) in that process.
        timeout: seconds before the test gives up on it.
    """
    env = {key: value for key, value in os.environ.items() if key != "AGENTRIG_KILL_AT"}
    if kill_at:
        env["AGENTRIG_KILL_AT"] = kill_at
    state_args = ["--state", f"sqlite:///{workdir / 'state.db'}"] if state == "sqlite" else []
    return subprocess.run(
        [AGENTRIG, *args, *state_args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
