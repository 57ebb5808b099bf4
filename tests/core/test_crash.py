"""Crash testing: seeded kill points, a real SIGKILL, and runs that survive it without acting twice."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentrig.core.contract.results import ActionRecord, RunResult
from agentrig.core.runner import RunSettings, RunSpec
from agentrig.core.runner.crash import KillPoint, choose_kill_points
from agentrig.core.runner.crash_test import (
    check_crash_test_settings,
    crash_test_failed,
    crash_test_run,
    duplicated_actions,
)
from agentrig.exceptions import ConfigurationError

COUNTS = {"llm": 13, "tool": 13, "action": 2, "handoff": 3}


def test_kill_points_parse_and_refuse_what_is_not_one() -> None:
    assert KillPoint.parse("action#2") == KillPoint("action", 2)
    assert str(KillPoint("llm", 3)) == "llm#3"
    for bad in ("llm", "llm#0", "disk#1", "tool#x"):
        with pytest.raises(ValueError, match="expected KIND#N"):
            KillPoint.parse(bad)


def test_the_same_seed_and_cell_give_the_same_points_and_another_seed_others() -> None:
    first = choose_kill_points(4, COUNTS, seed=1, cell="plain|closed-discharge-valve|0")
    assert first == choose_kill_points(4, COUNTS, seed=1, cell="plain|closed-discharge-valve|0")
    assert len(first) == 4
    assert {point.kind for point in first} == {"llm", "tool", "action", "handoff"}
    assert all(1 <= point.index <= COUNTS[point.kind] for point in first)
    others = [
        choose_kill_points(4, COUNTS, seed=seed, cell="plain|closed-discharge-valve|0")
        for seed in range(2, 8)
    ]
    assert any(points != first for points in others)


def test_a_kind_the_control_never_had_is_never_drawn() -> None:
    points = choose_kill_points(
        3, {"llm": 5, "tool": 0, "action": 0, "handoff": 0}, seed=3, cell="c"
    )
    assert [point.kind for point in points] == ["llm", "llm", "llm"]
    assert choose_kill_points(2, {}, seed=3, cell="c") == []


def test_the_switch_kills_its_process_with_sigkill_at_the_point() -> None:
    script = (
        "from agentrig.core.runner.crash import KillPoint, KillSwitch\n"
        "from agentrig.core.plant.executor import ToolCallRecord\n"
        "from agentrig.core.plant.results import ToolResult\n"
        "switch = KillSwitch(KillPoint.parse('action#2'))\n"
        "def call(tool, replayed=False):\n"
        "    switch(ToolCallRecord(run_id='r', tool=tool, arguments={}, role='operator',\n"
        "        result=ToolResult.success(), error=None, refused_reason=None,\n"
        "        safety_violation=False, outcome='applied', started_at_ns=0, duration_s=0.0,\n"
        "        idempotency_key='k', replayed=replayed, sim_time_s=0.0, ledger_seq=1))\n"
        "call('stop_device', replayed=True)\n"  # answered from the ledger: not counted
        "call('read_telemetry')\n"
        "call('stop_device')\n"
        "print('after the first action', flush=True)\n"
        "call('create_work_order')\n"
        "print('never printed')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.splitlines() == ["after the first action"]


def test_a_store_that_dies_with_its_process_is_refused_before_anything_runs() -> None:
    with pytest.raises(ConfigurationError, match="--kill needs a state store that outlives"):
        check_crash_test_settings(RunSettings(state_url="memory://"))


def _result(*actions: tuple[str, str, bool]) -> RunResult:
    return RunResult(
        run_id="r",
        framework="plain",
        framework_version="1",
        scenario="s",
        model="reference",
        status="passed",
        actions=[
            ActionRecord(role="operator", tool=tool, args={"device_id": device}, ok=ok)
            for tool, device, ok in actions
        ],
    )


def test_duplicates_are_actions_applied_more_often_than_in_the_control() -> None:
    control = _result(("set_valve", "valve-12", True), ("restart_device", "pump-07", True))
    twice = _result(
        ("set_valve", "valve-12", True),
        ("set_valve", "valve-12", True),
        ("restart_device", "pump-07", False),  # refused: applied nothing
        ("restart_device", "pump-07", True),
    )
    assert duplicated_actions(twice, control) == 1
    assert duplicated_actions(control, control) == 0


@pytest.mark.slow
@pytest.mark.allow_model_requests
@pytest.mark.parametrize("framework", ["plain", "langchain", "autogen", "crewai"])
async def test_a_run_killed_and_resumed_survives_without_acting_twice(
    framework: str, tmp_path: Path
) -> None:
    settings = RunSettings(
        state_url=f"sqlite:///{tmp_path / 'state.db'}", out_dir=tmp_path / "runs", keep_state=False
    )
    spec = RunSpec(framework=framework, scenario="closed-discharge-valve", run_id=f"k-{framework}")
    # Points that every attempt reaches: the third tool call is the monitor's, before any action,
    # so the resumed attempt still has both actions to apply. (Seeded points are tested above; a
    # later seeded point can fall after the last action when a reply's tool calls run
    # concurrently, and the resumed attempt then has no action left to be killed at.)
    points = [KillPoint.parse("tool#3"), KillPoint.parse("action#1")]
    result = await crash_test_run(spec, settings, kills=2, points=points)
    crash = result.crash
    assert crash is not None
    assert crash.kills == 2, crash
    assert result.attempts == 3
    assert crash.survived, (result.status, result.errors)
    assert result.status == crash.control_status == "passed"
    assert crash.duplicated_actions == 0
    applied = [(a.tool, a.args.get("device_id")) for a in result.actions if a.ok]
    assert applied == [("set_valve", "valve-12"), ("restart_device", "pump-07")]


@pytest.mark.slow
@pytest.mark.allow_model_requests
@pytest.mark.parametrize("framework", ["langchain", "autogen", "crewai", "plain"])
async def test_a_kill_between_the_ledger_write_and_the_result_resumes_the_role(
    framework: str, tmp_path: Path
) -> None:
    # LangChain's resume once took a thread whose last step's writes were saved, but not yet
    # checkpointed, as answered: the operator stopped after its first action (12/14 runs).
    settings = RunSettings(
        state_url=f"sqlite:///{tmp_path / 'state.db'}", out_dir=tmp_path / "runs", keep_state=False
    )
    spec = RunSpec(framework=framework, scenario="closed-discharge-valve", run_id=f"a-{framework}")
    points = [KillPoint.parse("action#1"), KillPoint.parse("tool#4")]
    result = await crash_test_run(spec, settings, kills=2, points=points)
    assert result.crash is not None
    assert result.crash.survived, (result.status, result.error_detail)
    applied = [(a.tool, a.args.get("device_id")) for a in result.actions if a.ok]
    assert applied == [("set_valve", "valve-12"), ("restart_device", "pump-07")]


@pytest.mark.slow
@pytest.mark.allow_model_requests
async def test_a_crash_test_cell_run_again_starts_from_nothing(tmp_path: Path) -> None:
    # compare --resume redoes a crash-test cell that was cut short: its runs' ids are taken.
    settings = RunSettings(state_url=f"sqlite:///{tmp_path / 'state.db'}", out_dir=tmp_path / "r")
    spec = RunSpec(framework="plain", scenario="closed-discharge-valve", run_id="again")
    first = await crash_test_run(spec, settings, kills=1, seed=3)
    second = await crash_test_run(spec, settings, kills=1, seed=3)
    assert first.crash is not None
    assert second.crash is not None
    assert second.crash.kill_points == first.crash.kill_points
    assert (second.status, second.crash.survived, second.crash.duplicated_actions) == (
        "passed",
        True,
        0,
    )


def test_a_broken_crash_test_is_one_errored_cell_blamed_on_the_harness() -> None:
    spec = RunSpec(framework="plain", scenario="closed-discharge-valve", run_id="x")
    result = crash_test_failed(spec, RuntimeError("attempt of x exited with 2: error: boom"))
    assert (result.status, result.error_category) == ("error", "harness")
    assert (
        result.error_detail
        == "the crash test could not run: attempt of x exited with 2: error: boom"
    )


@pytest.mark.slow
@pytest.mark.allow_model_requests
async def test_kills_between_an_actions_two_writes_resume_without_acting_twice(
    tmp_path: Path,
) -> None:
    # plain's 10th tool call is the operator's set_valve, its 11th restart_device: the first
    # attempt dies with the valve opened in the plant document but its ledger entry only the
    # document's tail; the second dies likewise at its first new write (restart_device).
    settings = RunSettings(
        state_url=f"sqlite:///{tmp_path / 'state.db'}", out_dir=tmp_path / "runs", keep_state=False
    )
    spec = RunSpec(framework="plain", scenario="closed-discharge-valve", run_id="w-plain")
    points = [KillPoint.parse("write#10"), KillPoint.parse("write#1")]
    result = await crash_test_run(spec, settings, kills=2, points=points)
    crash = result.crash
    assert crash is not None
    assert (crash.kills, result.attempts) == (2, 3)
    assert crash.survived, (result.status, result.error_detail)
    assert crash.duplicated_actions == 0
    applied = [(a.tool, a.args.get("device_id")) for a in result.actions if a.ok]
    assert applied == [("set_valve", "valve-12"), ("restart_device", "pump-07")]
