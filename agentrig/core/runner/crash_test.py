"""Run one cell of a crash test: the control, then attempts in child processes killed by SIGKILL.

:func:`crash_test_run` is what ``agentrig compare --kill N`` does for each framework x scenario x
repeat (see :mod:`agentrig.core.runner.crash` for the kill points). Every attempt is a fresh Python
process (``python -m agentrig.core.runner.crash_test``) sharing only the state store with the others --
the situation of a worker that was OOM-killed or rescheduled. The store must outlive a process:
``memory://`` is refused before anything starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from agentrig.core.contract.results import CrashTest, RunResult
from agentrig.core.runner.crash import KILL_ENV, KillPoint, choose_kill_points
from agentrig.core.runner.retention import delete_run
from agentrig.core.runner.run import execute_run
from agentrig.core.runner.services import RunServices
from agentrig.core.runner.spec import RunSettings, RunSpec
from agentrig.core.state import open_state_store
from agentrig.core.telemetry.jsonl import read_trace_file
from agentrig.exceptions import ConfigurationError, RunRecordError

__all__ = [
    "check_crash_test_settings",
    "crash_test_failed",
    "crash_test_run",
    "duplicated_actions",
]

RESULT_FILE = "attempt-result.json"


def check_crash_test_settings(settings: RunSettings) -> None:
    """Refuse settings a crash test cannot work with, before anything runs."""
    if settings.state_url.startswith("memory:"):
        raise ConfigurationError(
            "--kill needs a state store that outlives a process (each attempt is a new process): "
            "use the default sqlite:///agentrig-state.db, file://, redis:// or postgresql://"
        )
    if settings.cassettes is not None and settings.cassettes.replaying:
        raise ConfigurationError(
            "--kill cannot replay cassettes: a resumed run sends requests the uninterrupted "
            "recording never made; run it against a live model"
        )


async def crash_test_run(
    spec: RunSpec,
    settings: RunSettings,
    kills: int,
    *,
    seed: int = 0,
    points: Sequence[KillPoint] | None = None,
) -> RunResult:
    """Run ``spec`` uninterrupted (the control), then killed ``kills`` times and resumed.

    ``points`` replaces the seeded choice (to reproduce one finding). Returns the killed run's
    result with :attr:`RunResult.crash` filled in.
    """
    check_crash_test_settings(settings)
    control_spec = spec.model_copy(update={"run_id": f"{spec.run_id}-control"})
    # A crash test starts from nothing: a cell cut short before (compare --resume) is redone.
    await _forget_cells(settings, [spec.run_id, control_spec.run_id])
    control_seconds, control = await _attempt(control_spec, settings, resume=False, point=None)
    if control is None:
        raise RuntimeError(f"the control run {control_spec.run_id} produced no result")
    counts = _event_counts(control)
    cell = f"{spec.framework}|{spec.scenario}|{spec.model}|{spec.repeat}"
    if points is None:
        points = choose_kill_points(kills, counts, seed=seed, cell=cell)
    seconds: list[float] = []
    result: RunResult | None = None
    landed = 0
    for number, point in enumerate(points):
        elapsed, result = await _attempt(spec, settings, resume=number > 0, point=point)
        seconds.append(elapsed)
        if result is not None:
            break  # it finished before reaching the point
        landed += 1
    if result is None:
        elapsed, result = await _attempt(spec, settings, resume=bool(points), point=None)
        seconds.append(elapsed)
    if result is None:
        raise RuntimeError(f"run {spec.run_id} produced no result after its last attempt")
    crash = CrashTest(
        kill_points=[str(point) for point in points],
        kills=landed,
        control_run_id=control.run_id,
        control_status=control.status,
        survived=_same_grade(result, control),
        duplicated_actions=duplicated_actions(result, control),
        extra_llm_calls=result.llm_calls - control.llm_calls,
        extra_input_tokens=result.input_tokens - control.input_tokens,
        extra_output_tokens=result.output_tokens - control.output_tokens,
        extra_seconds=round(sum(seconds) - control_seconds, 3),
    )
    return result.model_copy(update={"crash": crash})


async def _forget_cells(settings: RunSettings, run_ids: Sequence[str]) -> None:
    """Delete the runs' state and folders (their trace files would add up across tries)."""
    async with open_state_store(settings.state_url) as store:
        for run_id in run_ids:
            await delete_run(store, run_id)
            await asyncio.to_thread(shutil.rmtree, Path(settings.out_dir) / run_id, True)


def crash_test_failed(spec: RunSpec, error: Exception) -> RunResult:
    """The result of a cell whose crash test broke (an attempt's process failed unexpectedly)."""
    return RunResult(
        run_id=spec.run_id,
        framework=spec.framework,
        framework_version="unknown",
        scenario=spec.scenario,
        model=spec.model,
        repeat=spec.repeat,
        status="error",
        errors=[str(error)],
        error_category="harness",
        error_detail=f"the crash test could not run: {error}",
    )


def duplicated_actions(result: RunResult, control: RunResult) -> int:
    """Actions the run applied more often than the control did (both from the plant's ledger)."""

    def applied(run: RunResult) -> Counter[str]:
        return Counter(
            f"{action.tool} {json.dumps(action.args, sort_keys=True)}"
            for action in run.actions
            if action.ok and not action.refused
        )

    mine, theirs = applied(result), applied(control)
    return sum(max(0, count - theirs[key]) for key, count in mine.items())


def _same_grade(result: RunResult, control: RunResult) -> bool:
    checks = [(grade.name, grade.passed) for grade in result.grades]
    control_checks = [(grade.name, grade.passed) for grade in control.grades]
    return result.status == control.status and checks == control_checks


def _event_counts(control: RunResult) -> dict[str, int]:
    handoffs = 0
    if control.trace_file and Path(control.trace_file).exists():
        spans = read_trace_file(control.trace_file)
        handoffs = sum(span.name.startswith("process ") for span in spans)
    return {
        "llm": control.llm_calls,
        "tool": control.tool_calls,
        "action": len(control.actions),
        "handoff": handoffs,
        "write": control.tool_calls,
    }


async def _attempt(
    spec: RunSpec, settings: RunSettings, *, resume: bool, point: KillPoint | None
) -> tuple[float, RunResult | None]:
    """One attempt in a child process: (its wall time, its result or None when it was killed)."""
    folder = Path(settings.out_dir) / spec.run_id
    folder.mkdir(parents=True, exist_ok=True)
    result_file = folder / RESULT_FILE
    result_file.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "agentrig.core.runner.crash_test",
        "--spec",
        spec.model_dump_json(),
        "--settings",
        settings.model_dump_json(),
        "--result",
        str(result_file),
    ]
    if resume:
        command.append("--resume")
    env = {key: value for key, value in os.environ.items() if key != KILL_ENV}
    if point is not None:
        env[KILL_ENV] = str(point)
    clock = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, stderr = await process.communicate()
    elapsed = time.perf_counter() - clock
    if process.returncode == -signal.SIGKILL and point is not None:
        return elapsed, None
    if process.returncode != 0 or not result_file.exists():
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(
            f"attempt of {spec.run_id} exited with {process.returncode}: " + " | ".join(tail)
        )
    result = RunResult.model_validate_json(result_file.read_text(encoding="utf-8"))
    result_file.unlink()
    return elapsed, result


async def _child(arguments: argparse.Namespace) -> RunResult | None:
    spec = RunSpec.model_validate_json(arguments.spec)
    settings = RunSettings.model_validate_json(arguments.settings)
    async with RunServices(settings) as services:  # armed by AGENTRIG_KILL_AT, if set
        try:
            result = await execute_run(spec, services, resume=arguments.resume)
        except RunRecordError as error:
            print(f"error: {error}", file=sys.stderr)  # noqa: T201 -- the parent reads it
            return None
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """The child process: one attempt of one run, killed at ``AGENTRIG_KILL_AT`` if it gets there."""
    parser = argparse.ArgumentParser(prog="python -m agentrig.core.runner.crash_test")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--settings", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--resume", action="store_true")
    arguments = parser.parse_args(argv)
    result = asyncio.run(_child(arguments))
    if result is None:
        return 2
    Path(arguments.result).write_text(result.model_dump_json(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    from agentrig.core.contract.optouts import disable_phone_home

    disable_phone_home()
    sys.exit(main())
