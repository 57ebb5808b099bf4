"""``agentrig report``: re-render a comparison folder's HTML report from its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentrig.cli.app import app, fail

__all__: list[str] = []


@app.command("report")
def _report(
    folder: Annotated[
        Path, typer.Argument(help="A comparison folder: results.jsonl and <run_id>/trace.jsonl.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write (default: FOLDER/report.html)."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Align every framework against this one (default: plain)."),
    ] = None,
) -> None:
    """Re-render the HTML report of a comparison folder from its results and trace files."""
    from agentrig.core.report.html import write_report
    from agentrig.exceptions import AgentrigError

    try:
        path, data = write_report(folder, baseline=baseline, path=output)
    except AgentrigError as error:
        fail(error)
    for run_id, problem in sorted(data.problems.items()):
        typer.echo(f"warning: {run_id}: {problem}", err=True)
    typer.echo(
        f"report: {path} ({len(data.results)} runs, {len(data.traces)} traces"
        + (f", {len(data.problems)} missing or unreadable" if data.problems else "")
        + ")"
    )
