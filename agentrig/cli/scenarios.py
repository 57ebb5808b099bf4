"""``agentrig scenarios``: the incidents, and the tools to write your own.

``list`` (the default) shows the catalogue and every installed pack's scenarios with their
source; ``show`` one in full; ``validate PATH...`` every problem of scenario files at once, with
file, line and field (exit 2 on any); ``new ID --device --fault`` a commented scenario file that
validates as written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentrig.cli.app import app, fail

if TYPE_CHECKING:
    from agentrig.core.plant.scenarios import Scenario

__all__ = ["scenarios_app"]

scenarios_app = typer.Typer(
    help="The scenario catalogue: the incidents every framework is tested on.",
    invoke_without_command=True,
)
app.add_typer(scenarios_app, name="scenarios")

ListJsonOption = Annotated[
    bool, typer.Option("--json", help="Print a JSON list (id, title, device, ...).")
]


def _scenario_summary(scenario: Scenario) -> dict[str, Any]:
    return {
        "id": scenario.id,
        "title": scenario.title,
        "device": scenario.alarm.device,
        "tests": list(scenario.tests),
        "expected_root_causes": [
            {"label": cause.label, "device": cause.device}
            for cause in scenario.expected_root_causes
        ],
        "source": scenario.origin,
        "must_escalate": scenario.must_escalate,
        "step_budget": scenario.step_budget,
        "description": scenario.description,
    }


def _list_scenarios(as_json: bool) -> None:
    from rich.table import Table

    from agentrig.cli.options import stdout_console
    from agentrig.core.plant.sources import available_scenarios
    from agentrig.exceptions import ScenarioError

    try:
        scenarios = available_scenarios()
    except ScenarioError as error:
        fail(error)
    if as_json:
        typer.echo(json.dumps([_scenario_summary(s) for s in scenarios], indent=2))
        return
    table = Table(title=f"{len(scenarios)} scenarios (agentrig scenarios show ID for one)")
    table.add_column("id", no_wrap=True)
    table.add_column("alarm on", no_wrap=True)
    table.add_column("tests")
    table.add_column("expected root cause")
    with_packs = any(scenario.origin != "catalogue" for scenario in scenarios)
    if with_packs:
        table.add_column("source", no_wrap=True)
    for scenario in scenarios:
        causes = ", ".join(f"{c.label} @ {c.device}" for c in scenario.expected_root_causes)
        table.add_row(
            scenario.id,
            scenario.alarm.device,
            ", ".join(scenario.tests),
            causes + (" + escalate" if scenario.must_escalate else ""),
            *([scenario.origin] if with_packs else []),
        )
    stdout_console().print(table)


@scenarios_app.callback()
def _scenarios(ctx: typer.Context, as_json: ListJsonOption = False) -> None:
    """List the scenarios (the default): the catalogue and installed packs, with their source."""
    if ctx.invoked_subcommand is None:
        _list_scenarios(as_json)


@scenarios_app.command("list")
def _scenarios_list(as_json: ListJsonOption = False) -> None:
    """List the catalogue and every installed pack's scenarios, with their source."""
    _list_scenarios(as_json)


async def _alarm_text(scenario: Scenario) -> str:
    """The alarm as a run's monitor receives it: the run's own plant code, in a throwaway store."""
    from agentrig.core.plant.plant import Plant
    from agentrig.core.state.memory import MemoryStateStore

    async with MemoryStateStore() as store:
        plant = await Plant.create(store, "show", scenario)
        return await plant.alarm_text()


@scenarios_app.command("show")
def _scenarios_show(
    scenario_id: Annotated[str, typer.Argument(help="A scenario id, or a scenario YAML file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole validated scenario as JSON.")
    ] = False,
) -> None:
    """Show one scenario: what it tests, the alarm as agents receive it, and how it is graded."""
    import asyncio

    from rich.console import Console

    from agentrig.core.plant.scenarios import load_scenario
    from agentrig.exceptions import ScenarioError

    try:
        scenario = load_scenario(scenario_id)
    except ScenarioError as error:
        fail(error)
    alarm_text = asyncio.run(_alarm_text(scenario))
    if as_json:
        document = {**scenario.model_dump(mode="json"), "alarm_text": alarm_text}
        typer.echo(json.dumps(document, indent=2))
        return
    console = Console()
    console.print(f"[bold]{scenario.id}[/bold]: {scenario.title}")
    console.print(f"tests: {', '.join(scenario.tests) or '-'}")
    console.print(scenario.description)
    console.print(f"\n[bold]alarm[/bold] ({scenario.alarm.device}): {alarm_text}")
    console.print("\n[bold]graded on[/bold]")
    for cause in scenario.expected_root_causes:
        console.print(f"  root cause: {cause.label} on {cause.device}")
    for predicate in scenario.required_end_state:
        console.print(f"  end state: {predicate.describe()}")
    for forbidden in scenario.forbidden_actions:
        why = f" ({forbidden.why})" if forbidden.why else ""
        console.print(f"  forbidden: {forbidden.describe()}{why}")
    escalation = "required" if scenario.must_escalate else "not needed"
    console.print(f"  escalation: {escalation}; step budget: {scenario.step_budget} tool calls")
    console.print("  always: faults resolved or contained, no safety violation")


@scenarios_app.command("validate")
def _scenarios_validate(
    paths: Annotated[list[str], typer.Argument(help="Scenario files, folders of them, or globs.")],
) -> None:
    """Check scenario files: every problem at once, each with file, line, field and what is
    expected. Exit status 2 when any file has a problem."""
    from pathlib import Path

    from agentrig.core.plant.sources import scenario_paths
    from agentrig.core.plant.validation import validate_scenario_file
    from agentrig.exceptions import ConfigurationError

    files: list[Path] = []
    try:
        for given in paths:
            files.extend(scenario_paths(given))
    except ConfigurationError as error:
        fail(error)
    failed = 0
    for file in files:
        problems = validate_scenario_file(file)
        for problem in problems:
            typer.echo(str(problem), err=True)
        if problems:
            failed += 1
        else:
            typer.echo(f"{file}: ok")
    if failed:
        fail(f"{failed} of {len(files)} scenario file(s) have problems")


@scenarios_app.command("new")
def _scenarios_new(
    scenario_id: Annotated[str, typer.Argument(metavar="ID", help="The new scenario's id.")],
    device: Annotated[str, typer.Option("--device", help="The device the alarm is about.")],
    fault: Annotated[
        str, typer.Option("--fault", help="The fault kind (closed_valve, bearing_wear, ...).")
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target", help="The device or sensor at fault (default: chosen near --device)."
        ),
    ] = None,
    layout: Annotated[
        str, typer.Option("--layout", help="A built-in layout name or a layout file.")
    ] = "default",
    out: Annotated[
        str | None, typer.Option("--out", help="The file to write (default: ID.yaml; - prints).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a scenario to start from: it validates as written, and every field is commented."""
    import os
    import re
    from pathlib import Path

    from agentrig.core.plant.layout import load_layout
    from agentrig.core.plant.scaffold import scaffold_scenario
    from agentrig.core.plant.validation import validate_scenario_file
    from agentrig.exceptions import AgentrigError

    if not re.match(r"^[a-z0-9][a-z0-9-]*$", scenario_id):
        fail(f"{scenario_id!r}: an id is lower-case letters, digits and dashes, e.g. my-pump-trip")
    path = Path(out or f"{scenario_id}.yaml")
    if out != "-" and path.exists() and not force:
        fail(f"{path} exists: give another --out, or --force to overwrite it")
    try:
        plant = load_layout(layout)
        # A layout file is named relative to the scenario file, as scenarios resolve it.
        reference = layout
        if Path(layout).suffix in (".yaml", ".yml") and out != "-":
            reference = os.path.relpath(Path(layout).resolve(), path.parent.resolve())
        text = scaffold_scenario(plant, reference, scenario_id, device, fault, target)
    except AgentrigError as error:
        fail(error)
    if out == "-":
        typer.echo(text, nl=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    problems = validate_scenario_file(path)
    for problem in problems:  # a scaffold that does not validate is a bug of agentrig's
        typer.echo(str(problem), err=True)
    if problems:
        fail(f"{path} was written but does not validate: please report this")
    typer.echo(f"{path}: written; edit it, then `agentrig scenarios validate {path}`")
