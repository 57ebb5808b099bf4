"""``import agentrig`` works with no extras installed, proven in a fresh virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS_AND_CLIENTS = [
    "langchain",
    "langgraph",
    "autogen_agentchat",
    "crewai",
    "redis",
    "psycopg",
    "ray",
]


@pytest.mark.slow
def test_import_without_extras_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = dict(os.environ)
    # pip's cache lives under the real HOME; the suite's HOME is a throwaway directory.
    env["HOME"] = os.environ.get("AGENTRIG_TEST_ORIGINAL_HOME") or env["HOME"]
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(REPO_ROOT / "constraints.txt"),
            str(REPO_ROOT),
        ],
        check=True,
        env=env,
        timeout=600,
    )
    probe = textwrap.dedent(
        f"""
        import importlib.util, json
        import agentrig
        import agentrig.cli
        missing = [m for m in {FRAMEWORKS_AND_CLIENTS!r} if importlib.util.find_spec(m) is None]
        print(json.dumps({{"version": agentrig.__version__, "missing": missing}}))
        """
    )
    done = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, env=env
    )
    assert f'"version": "{__import__("agentrig").__version__}"' in done.stdout
    # The extras really are absent, so the import above proved something.
    assert f'"missing": {FRAMEWORKS_AND_CLIENTS!r}'.replace("'", '"') in done.stdout
    version = subprocess.run(
        [str(venv / "bin" / "agentrig"), "--version"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    assert version.stdout.startswith("agentrig ")
