"""``agentrig adapters``: the registered framework adapters and how to install missing ones."""

from __future__ import annotations

from typing import Annotated

import typer

from agentrig.cli.app import app

__all__: list[str] = []


@app.command("adapters")
def _adapters(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the registered framework adapters, their versions, and how to install missing ones."""
    import dataclasses
    import json

    from rich.console import Console

    from agentrig.core.contract.registry import available_adapters
    from agentrig.core.report.console import adapters_table

    infos = available_adapters()
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(info) for info in infos], indent=2))
        return
    Console().print(adapters_table(infos))
