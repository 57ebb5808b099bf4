"""``agentrig record``: run the matrix and keep each run's LLM traffic as a cassette."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, EXIT_INTERRUPTED, app, fail
from agentrig.cli.options import (
    FrameworksOption,
    ModelOption,
    OutOption,
    ScenariosOption,
    TimeoutOption,
    check_run_options,
    stdout_console,
)

__all__: list[str] = []


@app.command("record")
def _record(
    frameworks: FrameworksOption = None,
    scenarios: ScenariosOption = "all",
    model: ModelOption = "reference",
    cassettes: Annotated[Path, typer.Option("--cassettes", help="The cassette folder.")] = Path(
        "cassettes"
    ),
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="all: record afresh (replace); once: only missing cassettes; new_episodes: "
            "keep what still matches, add the rest.",
        ),
    ] = "all",
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Repeats per cell (repeat k > 0: .r<k>.yaml).")
    ] = 1,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs at the same time.")
    ] = 4,
    out: OutOption = None,
    timeout: TimeoutOption = 300.0,
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="native or mcp: an MCP run's traffic goes to <framework>-mcp/ unless the "
            "adapter's model requests are the native ones (docs/mcp.md).",
        ),
    ] = "native",
) -> None:
    """Record each run's LLM traffic into cassettes/<model>/<framework>/<scenario>.yaml."""
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from agentrig.core.contract.mcp import mcp_requests_match_native
    from agentrig.core.contract.registry import load_adapter
    from agentrig.core.llm.cassettes import CassetteSettings
    from agentrig.core.runner import RunSettings, new_session_id
    from agentrig.core.runner.compare import (
        Comparison,
        compare,
        resolve_frameworks,
        resolve_scenarios,
    )
    from agentrig.exceptions import AgentrigError, ConfigurationError

    if tools not in ("native", "mcp"):
        fail(f"--tools {tools!r}: record with native or mcp")
    session = new_session_id()
    out_dir = out or Path("runs") / session
    try:
        if mode not in ("once", "new_episodes", "all"):
            raise ConfigurationError(
                f"--mode {mode!r}: record with all, once or new_episodes "
                "(replay is `agentrig run/compare --replay`)"
            )
        scenario_ids = resolve_scenarios(scenarios)
        check_run_options(model=model, faults=None, out=out_dir)
        names = resolve_frameworks(frameworks)
        recording = CassetteSettings(directory=cassettes, mode=mode)
        settings = RunSettings(
            state_url="memory://", bus_url="memory://", out_dir=out_dir, cassettes=recording
        )
    except (AgentrigError, ValueError) as error:
        fail(error)
    err_console = Console(stderr=True)
    err_console.print(
        f"recording {', '.join(names)} on {len(scenario_ids)} scenario(s) x {repeats} with "
        f"model {model!r} into {cassettes}/ (mode {mode})"
    )
    comparison = Comparison(out_dir=settings.out_dir, specs=[])
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
                console=err_console,
                comparison=comparison,
                session=session,
                tools=[tools],  # type: ignore[list-item]
            )
        )
    except KeyboardInterrupt:
        err_console.print("interrupted: the cassettes of finished runs are written")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except AgentrigError as error:
        fail(error, EXIT_FAILED)
    table = Table(
        title=f"{len(comparison.results)} cassettes in {cassettes}/ "
        f"({comparison.wall_seconds:.1f} s)"
    )
    for column in ("cassette", "status", "llm calls", "size"):
        table.add_column(column, justify="right" if column in ("llm calls", "size") else "left")
    results = sorted(comparison.results, key=lambda r: (r.framework, r.scenario, r.repeat))
    for result in results:
        folder = result.framework
        if result.tools == "mcp" and not mcp_requests_match_native(load_adapter(folder)):
            folder = f"{folder}-mcp"
        path = recording.path_for(result.model, folder, result.scenario, result.repeat)
        size = f"{path.stat().st_size / 1024:.1f} KiB" if path.is_file() else "missing"
        status = result.status if result.status == "passed" else f"[red]{result.status}[/red]"
        table.add_row(str(path.relative_to(cassettes)), status, str(result.llm_calls), size)
    stdout_console().print(table)
    failed = [r for r in results if r.status != "passed"]
    for result in failed:
        err_console.print(
            f"[red]{result.framework} x {result.scenario}: {result.status}[/red] "
            + "; ".join(result.errors)[:400]
        )
    if failed:
        err_console.print(
            "some runs did not pass: their cassettes record that; check before committing"
        )
        raise typer.Exit(EXIT_FAILED)
