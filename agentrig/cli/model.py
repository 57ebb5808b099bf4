"""``agentrig model serve``: the reference model as an OpenAI-compatible server."""

from __future__ import annotations

from typing import Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, app, fail

__all__ = ["model_app"]

model_app = typer.Typer(
    help="The reference model: an OpenAI-compatible server that plays the maintenance roles.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


@model_app.command("serve")
def _model_serve(
    host: Annotated[str, typer.Option("--host", help="The interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port (0: any free port).")
    ] = 8765,
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
        fail(error)

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
        fail(error, EXIT_FAILED)
    except KeyboardInterrupt:
        # uvicorn shut down gracefully on Ctrl-C, then re-raised it: that is a normal stop.
        return
