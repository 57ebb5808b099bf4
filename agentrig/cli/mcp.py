"""``agentrig mcp serve``: one run's plant tools as an MCP server (stdio or streamable HTTP)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated

import typer

from agentrig.cli.app import EXIT_FAILED, app, fail

__all__ = ["mcp_app"]

mcp_app = typer.Typer(
    help="The plant's tools over MCP, for any MCP client (Claude Desktop, an IDE, a framework).",
    no_args_is_help=True,
)
app.add_typer(mcp_app, name="mcp")

_ROLES = ("monitor", "diagnostician", "operator")


@mcp_app.command("serve")
def _mcp_serve(
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", "-s", help="Create a new run's plant from this scenario."),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="The run whose plant to serve (an existing one without --scenario; "
            "a new id with it, default: a fresh one).",
        ),
    ] = None,
    transport: Annotated[
        str, typer.Option("--transport", "-t", help="stdio or streamable-http.")
    ] = "streamable-http",
    role: Annotated[
        str,
        typer.Option("--role", help="Over stdio: whose tools (monitor, diagnostician, operator)."),
    ] = "operator",
    host: Annotated[str, typer.Option("--host", help="HTTP: the interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="HTTP: the port (0: any free port).")
    ] = 8766,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="AGENTRIG_MCP_TOKEN",
            help="HTTP: a bearer token every request must send; required off loopback.",
        ),
    ] = None,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option("--allowed-origin", help="HTTP: a browser Origin to accept (repeatable)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="The new plant's seed.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="State store URL (default: the CLI's).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Where the run's trace.jsonl goes.")] = Path(
        "runs"
    ),
) -> None:
    """Serve a run's plant tools over MCP until Ctrl-C (or until the stdio client closes)."""
    from agentrig.core.mcp.standalone import ServeOptions, serve_plant
    from agentrig.core.state import DEFAULT_STATE_URL
    from agentrig.exceptions import AgentrigError, ConfigurationError

    if transport not in ("stdio", "streamable-http"):
        fail(f"--transport {transport!r}: use stdio or streamable-http")
    if role not in _ROLES:
        fail(f"--role {role!r}: use one of {', '.join(_ROLES)}")
    if scenario is None and run_id is None:
        fail("say which plant to serve: --scenario ID (a new run) or --run-id ID (a kept run)")
    options = ServeOptions(
        run_id=run_id or f"mcp-{uuid.uuid4().hex[:12]}",
        scenario=scenario,
        seed=seed,
        state_url=state or DEFAULT_STATE_URL,
        out_dir=out,
        transport=transport,  # type: ignore[arg-type]
        role=role,  # type: ignore[arg-type]
        host=host,
        port=port,
        token=token,
        allowed_origins=tuple(allowed_origin or ()),
    )

    def announce(line: str) -> None:
        # stderr: over stdio, stdout carries the protocol.
        typer.echo(f"agentrig mcp serve, run {options.run_id}: {line}", err=True)

    try:
        asyncio.run(serve_plant(options, announce))
    except ConfigurationError as error:
        fail(error)
    except AgentrigError as error:
        fail(error, EXIT_FAILED)
    except KeyboardInterrupt:
        # uvicorn stopped gracefully on Ctrl-C and re-raised it: a normal stop.
        raise typer.Exit(0) from None
