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


trace_app = typer.Typer(
    help="Inspect a run's trace: its steps as a tree (show); more commands build on the same steps.",
    no_args_is_help=True,
)
app.add_typer(trace_app, name="trace")


@trace_app.command("show")
def _trace_show(
    run: Annotated[
        str,
        typer.Argument(help="A run id (looked up under --out), a run directory or a trace.jsonl."),
    ],
    out: Annotated[
        str, typer.Option("--out", help="The runs directory: <out>/<run_id>/trace.jsonl.")
    ] = "runs",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the normalised steps as JSON instead.")
    ] = False,
) -> None:
    """Print a run's normalised steps (run -> role -> LLM and tool calls) from its trace file."""
    from rich.console import Console

    from agentrig.core.telemetry.jsonl import read_trace_file, resolve_trace_file
    from agentrig.core.telemetry.normalise import normalise
    from agentrig.core.telemetry.tree import render_run_tree
    from agentrig.exceptions import TraceFileError

    try:
        path = resolve_trace_file(run, out)
        records = read_trace_file(path)
        steps = normalise(records)
    except (TraceFileError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(steps.model_dump_json(indent=2))
        return
    Console().print(render_run_tree(steps))


model_app = typer.Typer(
    help="The reference model: an OpenAI-compatible server that plays the maintenance roles.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


@model_app.command("serve")
def _model_serve(
    host: Annotated[str, typer.Option("--host", help="The interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port (0: any free port).")] = 8765,
    faults: Annotated[
        str,
        typer.Option("--faults", help="Fault profile: none, flaky, hostile, or a YAML/JSON file."),
    ] = "none",
    latency: Annotated[
        str,
        typer.Option(
            "--latency", help="off, fast, realistic, slow, or e.g. '400ms+15ms/token~30%'."
        ),
    ] = "off",
    seed: Annotated[int, typer.Option("--seed", help="Seed of personas, faults, latency.")] = 0,
    api_key_required: Annotated[
        bool,
        typer.Option(
            "--api-key-required",
            help="Require the key in AGENTRIG_REFERENCE_API_KEY as a bearer token (else 401).",
        ),
    ] = False,
) -> None:
    """Serve the reference model at http://HOST:PORT/v1 until Ctrl-C."""
    import os

    from agentrig.core.llm.faults import FaultProfile
    from agentrig.core.llm.latency import LatencyModel
    from agentrig.core.llm.serving import serve_forever
    from agentrig.exceptions import ConfigurationError, ModelError

    api_key = os.environ.get("AGENTRIG_REFERENCE_API_KEY") if api_key_required else None
    try:
        if api_key_required and not api_key:
            raise ConfigurationError(
                "--api-key-required needs the key in AGENTRIG_REFERENCE_API_KEY"
            )
        profile = FaultProfile.resolve(faults)
        latency_model = LatencyModel.parse(latency)
    except ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    def announce(base_url: str) -> None:
        typer.echo(f"reference model on {base_url} (faults: {profile.name}, latency: {latency})")

    try:
        serve_forever(
            host=host,
            port=port,
            faults=profile,
            latency=latency_model,
            seed=seed,
            api_key=api_key,
            on_listening=announce,
        )
    except ModelError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        # uvicorn shut down gracefully on Ctrl-C, then re-raised it: that is a normal stop.
        return


def main() -> None:
    """Entry point of the console script."""
    disable_phone_home()
    app()
