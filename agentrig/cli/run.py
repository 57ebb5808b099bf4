"""``agentrig run``: one framework on one scenario, graded, with its result and trace written.

``--run-id ID`` names the run; ``--resume ID`` continues a run that was killed or cut off, from
the state store it ran on (same ``--state``), and grades it. A resume that cannot be done --
unknown id, finished run, another framework or scenario than asked, another store, a process
still running it -- says so in one line and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, app, fail
from agentrig.cli.options import (
    BusOption,
    CassettesOption,
    FaultsOption,
    KeepStateOption,
    ModelOption,
    OtlpOption,
    OutOption,
    ReplayOption,
    StateOption,
    TimeoutOption,
    check_run_options,
    run_settings,
    stdout_console,
)

if TYPE_CHECKING:
    from agentrig.core.contract.results import RunResult
    from agentrig.core.runner import RunSettings, RunSpec

__all__: list[str] = []

RUN_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"


@app.command("run")
def _run(
    framework: Annotated[
        str | None, typer.Option("--framework", "-f", help="The adapter to run.")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", "-s", help="A scenario id, or a scenario .yaml file (or folder, glob)."
        ),
    ] = None,
    model: ModelOption = "reference",
    state: StateOption = "sqlite:///agentrig-state.db",
    bus: BusOption = "memory://",
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="How many times to run it.")] = 1,
    out: OutOption = None,
    faults: FaultsOption = None,
    timeout: TimeoutOption = 300.0,
    otlp_endpoint: OtlpOption = None,
    replay: ReplayOption = False,
    cassettes: CassettesOption = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id", help="Name the run (letters, digits, . _ : -), to resume it later."
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN_ID",
            help="Resume the killed or cut-off run RUN_ID from --state, and grade it.",
        ),
    ] = None,
    keep_state: KeepStateOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each RunResult as a JSON line.")
    ] = False,
) -> None:
    """Run one framework on one scenario: set up the plant, run, grade, write result and trace.

    Exit status: 0 when every run finished (passed or failed its grading), 1 when one errored,
    2 on a bad option or a run that cannot be resumed (nothing runs, nothing is written).
    """
    import asyncio
    import contextlib
    import re
    import sys

    from agentrig.core.contract.results import RESULTS_FILE_NAME, append_result
    from agentrig.core.report.console import run_summary
    from agentrig.core.runner import RunServices, build_matrix, execute_run, new_session_id
    from agentrig.core.runner.compare import error_line, resolve_frameworks, resolve_scenarios
    from agentrig.exceptions import AgentrigError, RunRecordError

    if resume is not None and (run_id is not None or repeat != 1):
        fail("--resume RUN_ID continues one run: drop --run-id and --repeat")
    if run_id is not None and (repeat != 1 or not re.match(RUN_ID_PATTERN, run_id)):
        fail(f"--run-id {run_id!r}: one run, named with letters, digits and . _ : - only")
    session = new_session_id()
    out_dir = out or Path("runs") / session
    try:
        check_run_options(model=model, faults=faults, out=out_dir)
        settings = run_settings(
            state, bus, out_dir, faults, otlp_endpoint, replay, cassettes, keep_state=keep_state
        )
        if resume is not None:
            specs, settings = asyncio.run(
                _resume_plan(resume, settings, framework, scenario, explicit_out=out is not None)
            )
            resolve_frameworks(specs[0].framework)
        elif framework is None or scenario is None:
            fail("give --framework and --scenario (or --resume RUN_ID to continue a run)")
        else:
            chosen = resolve_scenarios(scenario)
            resolve_frameworks(framework)
            if run_id is not None and len(chosen) != 1:
                fail(f"--run-id names one run, but -s {scenario} is {len(chosen)} scenarios")
            specs = build_matrix(
                [framework],
                chosen,
                repeats=repeat,
                model=model,
                session=session,
                timeout_s=timeout,
            )
            if run_id is not None:
                specs = [specs[0].model_copy(update={"run_id": run_id})]
    except (AgentrigError, ValueError) as error:
        fail(error)
    console = stdout_console()

    # A framework that prints (CrewAI's event bus warns on stdout) must not break --json.
    stdout = sys.stdout

    async def go() -> list[RunResult]:
        results = []
        async with RunServices(settings, frameworks=[specs[0].framework]) as services:
            for spec in specs:
                result = await execute_run(spec, services, resume=resume is not None)
                append_result(settings.out_dir / RESULTS_FILE_NAME, result)
                results.append(result)
                if as_json:
                    typer.echo(result.model_dump_json(), file=stdout)
                else:
                    console.print(run_summary(result))
                if result.status == "error":
                    typer.echo(f"error: {error_line(result, settings.out_dir)}", err=True)
        return results

    try:
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            results = asyncio.run(go())
    except RunRecordError as error:  # the id is taken, or another process resumed it first
        fail(error)
    except AgentrigError as error:
        fail(error, EXIT_FAILED)
    if not as_json:
        console.print(f"results: {settings.out_dir / RESULTS_FILE_NAME}")
    if any(result.status == "error" for result in results):
        raise typer.Exit(EXIT_FAILED)


async def _resume_plan(
    run_id: str,
    settings: RunSettings,
    framework: str | None,
    scenario: str | None,
    *,
    explicit_out: bool,
) -> tuple[list[RunSpec], RunSettings]:
    """The recorded spec of ``run_id`` and the settings it ran with; checks, changes nothing."""
    from agentrig.core.plant.scenarios import is_scenario_path, load_scenario
    from agentrig.core.runner import find_run_pointer, resume_spec
    from agentrig.core.state import open_state_store
    from agentrig.exceptions import RunNotFoundError

    if scenario is not None and is_scenario_path(scenario):
        scenario = load_scenario(scenario).id  # a run names its scenario by id

    async with open_state_store(settings.state_url) as store:
        try:
            spec, record = await resume_spec(
                store,
                run_id,
                state_url=settings.state_url,
                expect={"framework": framework, "scenario": scenario},
            )
        except RunNotFoundError as missing:
            pointer = find_run_pointer(run_id, [settings.out_dir.parent, Path("runs")])
            if pointer is not None and pointer.state_url != missing.state_url:
                raise RunNotFoundError(
                    f"no run {run_id!r} in {missing.state_url}: it ran on --state "
                    f"{pointer.state_url} (its run.json says so); resume it with that --state",
                    run_id=run_id,
                    state_url=missing.state_url,
                ) from None
            raise
    update: dict[str, object] = {"faults": record.faults}
    if not explicit_out:
        update["out_dir"] = Path(record.out_dir)  # the trace file goes on in the run's folder
    return [spec], settings.model_copy(update=update)
