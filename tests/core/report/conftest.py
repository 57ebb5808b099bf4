"""A real comparison folder for the report tests, made once per session.

The plain baseline with the hasty persona under the flaky fault profile: the folder then holds
passed and failed runs, a safety violation, client retries, and real trace files. Tests that use
it reach the reference model on purpose (mark them ``allow_model_requests``): fault profiles and
personas are live behaviour no cassette holds.
"""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from agentrig.core.runner import RunSettings
from agentrig.core.runner.compare import Comparison, compare

SCENARIOS = ("blocked-discharge", "breaker-trip-cooling-pump")
REPEATS = 2


@pytest.fixture(scope="session")
def compared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder written by ``compare()``: results.jsonl, trace files, metrics.prom, report.html."""
    out = tmp_path_factory.mktemp("compared")
    comparison = Comparison(out_dir=out, specs=[])
    asyncio.run(
        compare(
            ["plain"],
            SCENARIOS,
            repeats=REPEATS,
            model="reference:hasty",
            settings=RunSettings(state_url="memory://", out_dir=out, faults="flaky"),
            concurrency=2,
            console=Console(file=io.StringIO()),
            comparison=comparison,
        )
    )
    assert len(comparison.results) == len(SCENARIOS) * REPEATS
    return out


@pytest.fixture
def compared_copy(compared_folder: Path, tmp_path: Path) -> Path:
    """A private copy of the comparison folder, for tests that change it."""
    copy = tmp_path / "compared"
    shutil.copytree(compared_folder, copy)
    return copy
