"""Replay fidelity for every adapter: a replayed run's RunResult is the recorded run's.

For each adapter a run is recorded live against the reference model and replayed with no model
server: the two results must agree on everything but ids and timings (``comparable()``: status,
grades, actions, token counts, ...). The committed cassette of the same cell must replay to
the same result too, which also proves the committed cassettes match today's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentrig.core.contract.results import RunResult
from agentrig.core.llm import endpoints
from agentrig.core.llm.cassettes import CassetteSettings
from agentrig.core.plant import list_scenarios
from agentrig.core.runner import RunServices, RunSettings, RunSpec, execute_run
from agentrig.core.state import MemoryStateStore
from agentrig.exceptions import ModelError

REPO_CASSETTES = Path(__file__).resolve().parents[3] / "cassettes"

REPLAYABLE_ADAPTERS = ["plain", "langchain", "autogen", "crewai"]
"""Every adapter: each runs a model response's tool calls one at a time in the order given, so
its runs are deterministic and a recording can be replayed (docs/cassettes.md)."""

FAST_SCENARIO = "closed-discharge-valve"
SCENARIOS = [scenario.id for scenario in list_scenarios()]


def _refuse(**_: Any) -> None:
    raise ModelError("the reference model server is disabled while replaying")


async def _run(framework: str, scenario: str, cassettes: CassetteSettings, out: Path) -> RunResult:
    settings = RunSettings(state_url="memory://", out_dir=out, cassettes=cassettes)
    async with RunServices(settings, store=MemoryStateStore()) as services:
        return await execute_run(RunSpec(framework=framework, scenario=scenario), services)


async def _check_fidelity(
    framework: str, scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = await _run(
        framework, scenario, CassetteSettings(directory=tmp_path / "c", mode="all"), tmp_path / "r"
    )
    assert recorded.status == "passed", recorded.errors
    monkeypatch.setattr(endpoints, "shared_reference_server", _refuse)
    replayed = await _run(
        framework, scenario, CassetteSettings(directory=tmp_path / "c"), tmp_path / "p"
    )
    assert replayed.comparable() == recorded.comparable()
    committed = await _run(
        framework, scenario, CassetteSettings(directory=REPO_CASSETTES), tmp_path / "k"
    )
    assert committed.comparable() == recorded.comparable(), (
        "the committed cassette no longer matches a live run: `make record`"
    )
    monkeypatch.undo()


@pytest.mark.allow_model_requests
@pytest.mark.parametrize("framework", REPLAYABLE_ADAPTERS)
async def test_a_replayed_run_equals_the_recorded_run(
    framework: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _check_fidelity(framework, FAST_SCENARIO, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.allow_model_requests
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("framework", REPLAYABLE_ADAPTERS)
async def test_every_scenario_replays_faithfully(
    framework: str, scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _check_fidelity(framework, scenario, tmp_path, monkeypatch)
