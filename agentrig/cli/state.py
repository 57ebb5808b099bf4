"""``agentrig state``: what runs keep in the state store, and clearing what nobody resumed.

A finished run keeps only its record (unless ``--keep-state``); a killed or cut-off run keeps its
plant, ledger and checkpoints so that ``agentrig run --resume`` can continue it. ``state prune``
deletes the runs nobody came back for, by age -- ``--dry-run`` lists them first.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from agentrig.cli.app import app, fail
from agentrig.cli.options import StateOption, stdout_console

__all__ = ["parse_age", "state_app"]

state_app = typer.Typer(
    help="What runs keep in the state store; prune what nobody resumed.", no_args_is_help=True
)
app.add_typer(state_app, name="state")

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` (``0s``: every run) as a timedelta.

    Raises:
        typer.BadParameter: anything else.
    """
    match = _AGE.match(text.strip().lower())
    if match is None:
        raise typer.BadParameter(f"{text!r}: give an age like 30m, 12h, 7d or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@state_app.command("prune")
def _prune(
    state: StateOption = "sqlite:///agentrig-state.db",
    older_than: Annotated[
        timedelta,
        typer.Option(
            "--older-than",
            parser=parse_age,
            metavar="AGE",
            help="Only runs untouched for longer than AGE (30m, 12h, 7d, 2w; 0s: all).",
        ),
    ] = "7d",  # type: ignore[assignment]  # typer parses the default through parse_age
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete the state of runs untouched for longer than --older-than (records included).

    A killed run deleted here can no longer be resumed; a finished run loses its record, so a
    resume of it says "no run" rather than "finished".
    """
    import asyncio

    from rich.table import Table

    from agentrig.core.runner.retention import PrunableRun, find_prunable_runs, prune_runs
    from agentrig.core.state import open_state_store
    from agentrig.exceptions import AgentrigError

    async def go() -> tuple[list[PrunableRun], int]:
        async with open_state_store(state) as store:
            runs = await find_prunable_runs(store, older_than=older_than)
            removed = 0 if dry_run else await prune_runs(store, runs)
            return runs, removed

    try:
        runs, removed = asyncio.run(go())
    except AgentrigError as error:
        fail(error)
    console = stdout_console()
    table = Table(title=f"runs untouched for {older_than} or more in {state}")
    for column in ("run", "status", "last change (UTC)", "keys"):
        table.add_column(column)
    for run in runs:
        when = f"{run.updated_at:%Y-%m-%d %H:%M}" if run.updated_at else "-"
        table.add_row(run.run_id, run.status, when, str(run.keys))
    if runs:
        console.print(table)
    keys = sum(run.keys for run in runs)
    if dry_run:
        console.print(f"would delete {keys} key(s) of {len(runs)} run(s); nothing deleted")
    else:
        console.print(f"deleted {removed} key(s) of {len(runs)} run(s)")
