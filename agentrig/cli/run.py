"""``agentrig run``: one framework on one scenario, graded, with its result and trace written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, app, fail
from agentrig.cli.options import (
    BusOption,
    CassettesOption,
    FaultsOption,
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

__all__: list[str] = []


@app.command("run")
def _run(
    framework: Annotated[str, typer.Option("--framework", "-f", help="The adapter to run.")],
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="The scenario id.")],
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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each RunResult as a JSON line.")
    ] = False,
) -> None:
    """Run one framework on one scenario: set up the plant, run, grade, write result and trace.

    Exit status: 0 when every run finished (passed or failed its grading), 1 when one errored,
    2 on a bad option (nothing runs, nothing is written).
    """
    import asyncio

    from agentrig.core.compare import error_line, resolve_frameworks, resolve_scenarios
    from agentrig.core.contract.results import RESULTS_FILE_NAME, append_result
    from agentrig.core.report.console import run_summary
    from agentrig.core.runner import RunServices, build_matrix, execute_run, new_session_id
    from agentrig.exceptions import AgentrigError

    session = new_session_id()
    out_dir = out or Path("runs") / session
    try:
        resolve_scenarios(scenario)
        check_run_options(model=model, faults=faults, out=out_dir)
        resolve_frameworks(framework)
        settings = run_settings(state, bus, out_dir, faults, otlp_endpoint, replay, cassettes)
    except (AgentrigError, ValueError) as error:
        fail(error)
    specs = build_matrix(
        [framework], [scenario], repeats=repeat, model=model, session=session, timeout_s=timeout
    )
    console = stdout_console()

    async def go() -> list[RunResult]:
        results = []
        async with RunServices(settings, frameworks=[framework]) as services:
            for spec in specs:
                result = await execute_run(spec, services)
                append_result(settings.out_dir / RESULTS_FILE_NAME, result)
                results.append(result)
                if as_json:
                    typer.echo(result.model_dump_json())
                else:
                    console.print(run_summary(result))
                if result.status == "error":
                    typer.echo(f"error: {error_line(result, settings.out_dir)}", err=True)
        return results

    try:
        results = asyncio.run(go())
    except AgentrigError as error:
        fail(error, EXIT_FAILED)
    if not as_json:
        console.print(f"results: {settings.out_dir / RESULTS_FILE_NAME}")
    if any(result.status == "error" for result in results):
        raise typer.Exit(EXIT_FAILED)
