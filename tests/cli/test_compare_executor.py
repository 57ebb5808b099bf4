"""``compare --executor``: what it refuses before anything starts, and Ray only when asked for.

The runs on a real Ray cluster are tested in ``tests/core/test_ray_pool.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentrig.cli import app
from agentrig.core.runner import RunSettings
from agentrig.core.runner.executors import ExecutorChoice, check_executor_settings
from agentrig.exceptions import ConfigurationError

runner = CliRunner()
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--executor", "ray://10.0.0.5:10001", "--state", "memory://"],
            "--executor ray://10.0.0.5:10001 runs on other machines, which cannot reach "
            "--state memory://",
        ),
        (
            ["--executor", "ray://10.0.0.5:10001", "--state", "sqlite:///state.db"],
            "cannot reach --state sqlite://",
        ),
        (["--executor", "ray://10.0.0.5", "--state", "redis://x:6379/0"], "ray://HOST:PORT"),
        (["--executor", "dask"], "--executor 'dask': give local, ray"),
        (["--workers", "2"], "--workers is for --executor ray"),
        (["--executor", "ray", "--kill", "1"], "cannot run --kill"),
    ],
)
def test_compare_refuses_what_the_executor_cannot_do_before_anything_runs(
    tmp_path: Path, options: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "-f", "plain", "--out", str(out), *options])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert message in line
    assert not out.exists()


def test_a_remote_cluster_takes_a_networked_store() -> None:
    remote = ExecutorChoice.parse("ray://head:10001")
    for url in ("redis://127.0.0.1:6379/0", "postgresql://postgres@127.0.0.1/test"):
        check_executor_settings(remote, RunSettings(state_url=url))
    with pytest.raises(ConfigurationError, match="file://"):
        check_executor_settings(remote, RunSettings(state_url="file:///srv/state"))
    # A cluster on this machine shares its disk: sqlite and memory:// (per worker) are fine.
    check_executor_settings(ExecutorChoice.parse("ray"), RunSettings(state_url="memory://"))


def test_the_local_executor_never_imports_ray(tmp_path: Path) -> None:
    script = f"""
import sys
from typer.testing import CliRunner
from agentrig.cli import app
result = CliRunner().invoke(app, ["compare", "-f", "plain", "-s", "closed-discharge-valve",
    "--state", "memory://", "--out", {str(tmp_path)!r}, "--cassettes", {str(CASSETTES)!r}])
assert result.exit_code == 0, result.output
print(sorted(name for name in sys.modules if name == "ray" or name.startswith("ray.")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
