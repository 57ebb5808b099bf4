"""``agentrig scenarios``: the catalogue of incidents (``list``, the default) and one in full (``show``)."""

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
        "must_escalate": scenario.must_escalate,
        "step_budget": scenario.step_budget,
        "description": scenario.description,
    }


def _list_scenarios(as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from agentrig.core.plant.scenarios import list_scenarios
    from agentrig.exceptions import ScenarioError

    try:
        scenarios = list_scenarios()
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
    for scenario in scenarios:
        causes = ", ".join(f"{c.label} @ {c.device}" for c in scenario.expected_root_causes)
        table.add_row(
            scenario.id,
            scenario.alarm.device,
            ", ".join(scenario.tests),
            causes + (" + escalate" if scenario.must_escalate else ""),
        )
    Console().print(table)


@scenarios_app.callback()
def _scenarios(ctx: typer.Context, as_json: ListJsonOption = False) -> None:
    """List the scenario catalogue (the default), or show one scenario."""
    if ctx.invoked_subcommand is None:
        _list_scenarios(as_json)


@scenarios_app.command("list")
def _scenarios_list(as_json: ListJsonOption = False) -> None:
    """List the scenario catalogue."""
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
