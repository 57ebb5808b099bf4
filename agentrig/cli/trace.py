"""``agentrig trace``: one run's steps as a tree (``show``), two runs aligned (``diff``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, app, fail

if TYPE_CHECKING:
    from agentrig.core.telemetry.normalise import RunTrace

__all__ = ["trace_app"]

trace_app = typer.Typer(
    help="Inspect runs' traces: one run's steps as a tree (show), two runs aligned (diff).",
    no_args_is_help=True,
)
app.add_typer(trace_app, name="trace")

RunsDirOption = Annotated[
    str, typer.Option("--out", help="The runs directory: <out>/<run_id>/trace.jsonl.")
]


def _load_steps(run: str, out: str) -> RunTrace:
    """A run's normalised steps, or exit 2 saying which file is missing or bad."""
    from agentrig.core.telemetry.jsonl import read_trace_file, resolve_trace_file
    from agentrig.core.telemetry.normalise import normalise
    from agentrig.exceptions import TraceFileError

    try:
        return normalise(read_trace_file(resolve_trace_file(run, out)))
    except (TraceFileError, ValueError) as error:
        fail(error)


@trace_app.command("show")
def _trace_show(
    run: Annotated[
        str,
        typer.Argument(help="A run id (looked up under --out), a run directory or a trace.jsonl."),
    ],
    out: RunsDirOption = "runs",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the normalised steps as JSON instead.")
    ] = False,
) -> None:
    """Print a run's normalised steps (run -> role -> LLM and tool calls) from its trace file."""
    from rich.console import Console

    from agentrig.core.telemetry.tree import render_run_tree

    steps = _load_steps(run, out)
    if as_json:
        typer.echo(steps.model_dump_json(indent=2))
        return
    Console().print(render_run_tree(steps))


@trace_app.command("diff")
def _trace_diff(
    run_a: Annotated[str, typer.Argument(help="Run A (the reference): run id, directory or file.")],
    run_b: Annotated[str, typer.Argument(help="Run B: run id, run directory or trace.jsonl.")],
    out: RunsDirOption = "runs",
    context: Annotated[
        int | None,
        typer.Option(
            "--context", min=0, help="Show only N identical steps around each difference."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the alignment as JSON instead.")
    ] = False,
) -> None:
    """Align two runs' steps (role, tool, arguments) and show where they diverge.

    Exit status: 0 when the runs took the same steps, 1 when they diverge, 2 on bad input.
    """
    from rich.console import Console

    from agentrig.core.report.diff import diff_runs, render_diff

    diff = diff_runs(_load_steps(run_a, out), _load_steps(run_b, out))
    if as_json:
        typer.echo(diff.model_dump_json(indent=2))
    else:
        console = Console() if sys.stdout.isatty() else Console(width=160)
        console.print(render_diff(diff, context=context))
    if not diff.identical:
        raise typer.Exit(EXIT_FAILED)
