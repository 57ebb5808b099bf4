"""The root of the ``agentrig`` command: the Typer app, ``--version``, and how errors end a command.

Every bad input ends the same way: one line on stderr, ``error: <what was wrong and how to fix
it>``, and exit status 2 -- whether Typer rejected the option (a range, a missing option) or a
command's own check did (:func:`fail`). Exit status 1 means a run errored or a threshold failed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

# Typer 0.2x ships its own copy of Click; its usage errors are these classes, not click's.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from agentrig._version import __version__
from agentrig.core.contract.optouts import disable_phone_home

__all__ = ["EXIT_BAD_USAGE", "EXIT_FAILED", "EXIT_INTERRUPTED", "app", "fail", "main"]

EXIT_FAILED = 1
"""A run errored, a threshold failed, or the traces differ (``trace diff``)."""
EXIT_BAD_USAGE = 2
"""An option or argument was wrong; nothing ran and nothing was written."""
EXIT_INTERRUPTED = 130
"""Ctrl-C: the runs that finished are kept."""


class _OneLineErrors(TyperGroup):
    """The root group, printing a usage error as one ``error:`` line instead of a help panel.

    Typer shows a rejected option as a usage block plus a boxed panel; a script reading stderr,
    or a person scanning a CI log, wants the one line that says what to change.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as error:
            # Not a mistake: `agentrig` alone (or `agentrig trace`) asks for the help.
            error.show()
            sys.exit(error.exit_code)
        except UsageError as error:
            where = f"; see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
            typer.echo(f"error: {error.format_message().rstrip('.')}{where}", err=True)
            sys.exit(EXIT_BAD_USAGE)
        except ClickException as error:
            typer.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="agentrig",
    cls=_OneLineErrors,
    help="A test rig for production AI agents: one maintenance workflow, four frameworks.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def fail(error: object, code: int = EXIT_BAD_USAGE) -> NoReturn:
    """End the command: ``error: <error>`` on stderr, then exit ``code`` (2: bad input).

    Raise from the exception being handled (``except X as e: fail(e)``) keeps its cause for
    debugging; the user sees only the line.
    """
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code)


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
