"""``agentrig compare``: every framework on every scenario side by side, and the CI verdict.

Exit status: 0 when every run finished and each framework's pass rate reached ``--fail-under``;
1 when a run errored or a framework fell below it (a line on stderr says which); 2 on a bad option
(nothing runs, nothing is written); 130 after Ctrl-C (the finished runs are kept).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, EXIT_INTERRUPTED, app, fail
from agentrig.cli.options import (
    BusOption,
    CassettesOption,
    FaultsOption,
    FrameworksOption,
    KeepStateOption,
    MetricsPortOption,
    ModelOption,
    OtlpOption,
    OutOption,
    ReplayOption,
    ScenariosOption,
    StateOption,
    TimeoutOption,
    check_run_options,
    run_settings,
    stdout_console,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agentrig.core.contract.results import RunResult
    from agentrig.core.plant.sources import ScenarioRef
    from agentrig.core.report.summary import FrameworkSummary
    from agentrig.core.runner.compare import MatrixFile
    from agentrig.core.runner.spec import RunSettings

__all__ = ["below_threshold", "parse_pass_rate", "resumed_matrix"]

DEFAULT_STATE = "sqlite:///agentrig-state.db"


def parse_pass_rate(text: str) -> float:
    """A pass-rate threshold: a fraction ``0.8`` or a percentage ``80%``.

    Raises:
        typer.BadParameter: anything else (a bare ``80`` is ambiguous and refused).
    """
    value = text.strip()
    percent = value.endswith("%")
    try:
        number = float(value.removesuffix("%"))
    except ValueError:
        number = math.nan
    if percent:
        number /= 100
    if not (math.isfinite(number) and 0 <= number <= 1):
        raise typer.BadParameter(f"{text!r}: give a fraction from 0 to 1 (0.8) or a percent (80%)")
    return number


def below_threshold(summaries: Sequence[FrameworkSummary], threshold: float) -> list[str]:
    """One line per framework whose pass rate is below ``threshold``."""
    return [
        f"--fail-under {threshold:.0%}: {summary.framework} passed {summary.passed}/"
        f"{summary.runs} runs ({summary.pass_rate:.0%})"
        for summary in summaries
        if summary.pass_rate < threshold
    ]


def resumed_matrix(folder: Path, *, state: str) -> MatrixFile:
    """The matrix of the interrupted comparison in ``folder``, with a usable state URL.

    Raises:
        ConfigurationError: no matrix there, or its store had a password (pass --state again).
    """
    from agentrig.core.runner.compare import MatrixFile
    from agentrig.exceptions import ConfigurationError

    matrix = MatrixFile.read(folder)
    recorded = matrix.settings.state_url
    if "***" in recorded:
        if state == DEFAULT_STATE:
            raise ConfigurationError(
                f"--resume {folder}: it ran on {recorded}; pass that --state again, with its "
                "password"
            )
        recorded = state
    settings = matrix.settings.model_copy(update={"state_url": recorded, "out_dir": folder})
    return matrix.model_copy(update={"settings": settings})


@app.command("compare")
def _compare(
    frameworks: FrameworksOption = None,
    scenarios: ScenariosOption = "all",
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Runs per cell (pass^k).")] = 1,
    model: ModelOption = "reference",
    faults: FaultsOption = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs at the same time.")
    ] = 4,
    state: StateOption = DEFAULT_STATE,
    bus: BusOption = "memory://",
    out: OutOption = None,
    timeout: TimeoutOption = 300.0,
    metrics_port: MetricsPortOption = None,
    otlp_endpoint: OtlpOption = None,
    replay: ReplayOption = False,
    cassettes: CassettesOption = None,
    fail_under: Annotated[
        float | None,
        typer.Option(
            "--fail-under",
            parser=parse_pass_rate,
            metavar="RATE",
            help="Exit 1 when a framework's pass rate is below RATE (0.8 or 80%).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the per-framework summary as JSON.")
    ] = False,
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="native, mcp, or native,mcp side by side: how adapters get the plant's tools "
            "(mcp: from the run's MCP servers through the framework's own client; docs/mcp.md).",
        ),
    ] = "native",
    kill: Annotated[
        int,
        typer.Option(
            "--kill",
            min=0,
            metavar="N",
            help="Crash-test every run: SIGKILL it N times at seeded points, resume it each "
            "time in a fresh process, compare with the run uninterrupted.",
        ),
    ] = 0,
    kill_seed: Annotated[
        int, typer.Option("--kill-seed", help="Seed of the kill points (same seed, same points).")
    ] = 0,
    resume_dir: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="DIR",
            help="Continue the interrupted comparison in DIR: finished runs are kept, the "
            "others resumed from the store (other selection options must be left out).",
        ),
    ] = None,
    keep_state: KeepStateOption = False,
    scorecard: Annotated[
        bool,
        typer.Option(
            "--scorecard",
            help="Run the standard battery (faults none, flaky, hostile, and --kill 2) and "
            "write the production-readiness scorecard (scorecard.html, scorecard.json).",
        ),
    ] = False,
) -> None:
    """Run every framework on every scenario side by side: the main job of agentrig.

    Exit status: 0 all runs finished (and reached --fail-under); 1 a run errored or a framework
    fell below --fail-under; 2 a bad option, before anything runs; 130 interrupted.
    """
    import asyncio
    import json

    from rich.console import Console

    from agentrig.core.report.console import (
        comparison_table,
        crash_table,
        failure_lines,
        failure_table,
    )
    from agentrig.core.report.tools import tools_table
    from agentrig.core.runner import new_session_id
    from agentrig.core.runner.compare import (
        Comparison,
        compare,
        finished_results,
        resolve_frameworks,
        resolve_scenarios,
    )
    from agentrig.core.runner.crash_test import check_crash_test_settings
    from agentrig.core.runner.scorecard import check_scorecard_settings
    from agentrig.exceptions import AgentrigError

    tools_modes = [mode.strip() for mode in tools.split(",") if mode.strip()]
    if not tools_modes or any(m not in ("native", "mcp") for m in tools_modes):
        fail(f"--tools {tools!r}: use native, mcp, or native,mcp")
    if "mcp" in tools_modes and (kill or scorecard):
        fail("--tools mcp with --kill or --scorecard: crash tests run native tools only")
    session = new_session_id()
    out_dir = out or Path("runs") / session
    previous: list[RunResult] = []
    scenario_ids: Sequence[str | ScenarioRef]
    if resume_dir is not None:
        given = {
            "-f": frameworks is not None,
            "-s": scenarios != "all",
            "--repeats": repeats != 1,
            "--model": model != "reference",
            "--faults": faults is not None,
            "--kill": kill != 0,
            "--out": out is not None,
            "--tools": tools != "native",
        }
        if any(given.values()):
            options = ", ".join(name for name, on in given.items() if on)
            fail(f"--resume DIR goes on with the comparison as it was asked: drop {options}")
    try:
        if resume_dir is not None:
            matrix = resumed_matrix(resume_dir, state=state)
            session, names = matrix.session, matrix.frameworks
            scenario_ids = matrix.scenario_refs()
            repeats, model, timeout = matrix.repeats, matrix.model, matrix.timeout_s
            tools_modes = list(matrix.tools)
            kill, kill_seed, settings = matrix.kills, matrix.kill_seed, matrix.settings
            resolve_frameworks(",".join(names))
            previous = finished_results(resume_dir)
        else:
            scenario_ids = resolve_scenarios(scenarios)
            check_run_options(model=model, faults=faults, out=out_dir, metrics_port=metrics_port)
            names = resolve_frameworks(frameworks)
            settings = run_settings(
                state, bus, out_dir, faults, otlp_endpoint, replay, cassettes,
                keep_state=keep_state,
            )  # fmt: skip
            if kill:
                check_crash_test_settings(settings)
            if scorecard:
                if kill or resume_dir is not None:
                    fail("--scorecard runs its own --kill 2 battery: drop --kill and --resume")
                check_scorecard_settings(settings)
    except (AgentrigError, ValueError) as error:
        fail(error)
    if scorecard:
        _scorecard(names, scenario_ids, settings, session, model, concurrency, timeout, kill_seed)
        return
    console = stdout_console()
    err_console = Console(stderr=True)
    err_console.print(
        f"comparing {', '.join(names)} on {len(scenario_ids)} scenario(s) x {repeats} "
        f"with model {model!r}, state {state}, bus {bus} -> {settings.out_dir}"
    )
    if settings.cassettes is not None:
        err_console.print(f"replaying every LLM call from {settings.cassettes.directory}/")
    comparison = Comparison(out_dir=settings.out_dir, specs=[])
    interrupted = False
    try:
        asyncio.run(
            compare(
                names,
                scenario_ids,
                repeats=repeats,
                model=model,
                settings=settings,
                concurrency=concurrency,
                timeout_s=timeout,
                metrics_port=metrics_port,
                console=err_console,
                comparison=comparison,
                session=session,
                kills=kill,
                kill_seed=kill_seed,
                previous=previous,
                tools=sorted(set(tools_modes), key=tools_modes.index),  # type: ignore[arg-type]
            )
        )
    except KeyboardInterrupt:
        interrupted = True
        err_console.print(
            f"interrupted: kept the {len(comparison.results)} finished run(s) of "
            f"{len(comparison.specs)} in {comparison.results_file}"
        )
    except AgentrigError as error:
        fail(error, EXIT_FAILED)
    summaries = comparison.summaries(order=names)
    if as_json:
        typer.echo(json.dumps([summary.model_dump() for summary in summaries], indent=2))
    else:
        console.print(
            comparison_table(
                summaries,
                title=f"agentrig compare: {len(comparison.results)} runs in "
                f"{comparison.wall_seconds:.1f} s (model {model})",
            )
        )
        for table in (
            failure_table(summaries),
            crash_table(summaries),
            tools_table(comparison.results),
        ):
            if table is not None:
                console.print(table)
        for line in failure_lines(comparison.results, order=names):
            console.print(line, markup=False, highlight=False)
        console.print(f"results: {comparison.results_file}")
        console.print(f"metrics: {comparison.metrics_file}")
        if comparison.report_file.is_file():
            console.print(f"report:  {comparison.report_file}")
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    _exit_on_verdict(comparison.results, summaries, fail_under)


def _exit_on_verdict(
    results: Sequence[RunResult], summaries: Sequence[FrameworkSummary], fail_under: float | None
) -> None:
    """Exit 1, saying why, when a run errored or a framework is below ``--fail-under``."""
    errored = sum(summary.errors for summary in summaries)
    problems = [f"{errored} of {len(results)} runs errored"] if errored else []
    if fail_under is not None:
        problems += below_threshold(summaries, fail_under)
    for problem in problems:
        typer.echo(f"failed: {problem}", err=True)
    if problems:
        raise typer.Exit(EXIT_FAILED)


def _scorecard(
    names: Sequence[str],
    scenario_ids: Sequence[str | ScenarioRef],
    settings: RunSettings,
    session: str,
    model: str,
    concurrency: int,
    timeout: float,
    kill_seed: int,
) -> None:
    """``--scorecard``: the battery, then the scorecard table and where its pages are."""
    import asyncio

    from rich.console import Console

    from agentrig.core.report.scorecard import scorecard_table
    from agentrig.core.runner.scorecard import run_scorecard
    from agentrig.exceptions import AgentrigError

    err_console = Console(stderr=True)
    try:
        battery = asyncio.run(
            run_scorecard(
                names,
                scenario_ids,
                settings=settings,
                session=session,
                model=model,
                concurrency=concurrency,
                timeout_s=timeout,
                kill_seed=kill_seed,
                console=err_console,
            )
        )
    except KeyboardInterrupt:
        err_console.print(f"interrupted: the finished parts are in {settings.out_dir}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except AgentrigError as error:
        fail(error, EXIT_FAILED)
    console = stdout_console()
    if battery.scorecard is not None:
        console.print(scorecard_table(battery.scorecard))
    console.print(f"scorecard: {battery.html_file}")
    console.print(f"numbers:   {battery.json_file}")
