"""``agentrig mcp serve``: one run's plant served over MCP until stopped, for any MCP client.

The server is bound to one run's plant in a state store: a new run created from a scenario
(``--scenario``), or an existing run's plant (``--run-id`` of a run kept with ``--keep-state``).
Every call goes through that run's :class:`ToolExecutor`; its ``execute_tool`` and
``mcp.server tools/call`` spans go to ``OUT/<run_id>/trace.jsonl``.

Over stdio one role is served (a client starts one process per role); over streamable HTTP every
role has its endpoint, ``/mcp/<role>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from agentrig.core.contract.roles import Role
from agentrig.core.mcp.server import PlantToolService, role_server
from agentrig.core.plant.plant import Plant
from agentrig.core.plant.scenarios import load_scenario
from agentrig.core.plant.state import PlantState, plant_key
from agentrig.core.state import DEFAULT_STATE_URL, open_state_store
from agentrig.core.telemetry.facade import Telemetry
from agentrig.exceptions import ConfigurationError

__all__ = ["ServeOptions", "serve_plant"]

logger = structlog.get_logger(__name__)

Transport = Literal["stdio", "streamable-http"]


@dataclass(frozen=True)
class ServeOptions:
    """What ``agentrig mcp serve`` was asked for (see its ``--help``)."""

    run_id: str
    scenario: str | None = None
    seed: int | None = None
    state_url: str = DEFAULT_STATE_URL
    out_dir: Path = Path("runs")
    transport: Transport = "streamable-http"
    role: Role = "operator"
    host: str = "127.0.0.1"
    port: int = 8766
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()


async def serve_plant(
    options: ServeOptions, on_listening: Callable[[str], None] | None = None
) -> None:
    """Serve the run's plant until cancelled.

    With ``scenario``, a run that already has a plant of that scenario is served as it is (a
    client restarting the server goes on with the same plant).

    Raises:
        ConfigurationError: no plant for the run and no scenario to create it, a plant of
            another scenario under the run id, or an HTTP bind refused (``http.check_bind``).
    """
    if options.transport == "streamable-http":
        from agentrig.core.mcp.http import check_bind

        check_bind(options.host, options.token)  # before anything is created
    store = open_state_store(options.state_url)
    try:
        existing = await store.load(plant_key(options.run_id))
        if options.scenario is not None and existing is not None:
            # A client that starts the server again (Claude Desktop does, every session; one
            # process per role over stdio) goes on with the same plant -- never another's.
            served = PlantState.model_validate(existing.state).scenario_id
            scenario_id = load_scenario(options.scenario).id
            if served != scenario_id:
                raise ConfigurationError(
                    f"run {options.run_id!r} already has a plant of scenario {served!r} in "
                    f"{options.state_url}, not {scenario_id!r}; pick a new --run-id"
                )
        elif options.scenario is not None:
            scenario = load_scenario(options.scenario)
            await Plant.create(store, options.run_id, scenario, seed=options.seed)
        elif existing is None:
            raise ConfigurationError(
                f"run {options.run_id!r} has no plant in {options.state_url}; pass --scenario "
                "to create one, or the id of a run kept with --keep-state"
            )
        with Telemetry.for_run(
            options.run_id, "mcp", options.scenario or "", out_dir=options.out_dir
        ) as telemetry:
            executor = Plant(store, options.run_id).executor(hooks=[telemetry.tool_hook])
            service = PlantToolService(executor, telemetry)
            try:
                if options.transport == "stdio":
                    await _serve_stdio(service, options.role, on_listening)
                else:
                    await _serve_http(service, options, on_listening)
            finally:
                executor.close()
    finally:
        await store.close()


async def _serve_stdio(
    service: PlantToolService, role: Role, on_listening: Callable[[str], None] | None
) -> None:
    from mcp.server.stdio import stdio_server

    server = role_server(role, service)
    if on_listening is not None:
        on_listening(f"stdio ({role}'s tools, run {service.executor.run_id})")
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def _serve_http(
    service: PlantToolService, options: ServeOptions, on_listening: Callable[[str], None] | None
) -> None:
    from agentrig.core.mcp.http import PlantMcpHttpServer

    server = PlantMcpHttpServer(
        service,
        host=options.host,
        port=options.port,
        token=options.token,
        allowed_origins=options.allowed_origins,
        handle_signals=True,  # the process's only server: SIGTERM stops it gracefully
    )
    async with server:
        if on_listening is not None:
            for role, endpoint in server.endpoints().items():
                on_listening(f"{role}: {endpoint.url}")
        await asyncio.Event().wait()  # until cancelled (Ctrl-C)
