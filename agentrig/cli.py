"""The ``agentrig`` command: run, compare and inspect agent frameworks on the simulated plant.

Each command is thin: it parses options, calls the library and renders the result with rich.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agentrig._version import __version__
from agentrig.core.optouts import disable_phone_home

app = typer.Typer(
    name="agentrig",
    help="A test rig for production AI agents: one maintenance workflow, four frameworks.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"agentrig {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """agentrig: run the same agent task across frameworks and compare them side by side."""
    disable_phone_home()


def main() -> None:
    """Entry point of the console script."""
    disable_phone_home()
    app()
