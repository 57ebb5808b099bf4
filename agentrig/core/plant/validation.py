"""``agentrig scenarios validate``: every problem of a scenario file at once, each with its line.

:func:`validate_scenario_file` reports, in file order: YAML and schema errors (a missing field,
a fault kind the plant cannot simulate, ...), ids the layout lacks or cannot take where they are
used (an unknown device, a bearing fault on a valve, an end-state predicate on a field the device
does not have), and a ``step_budget`` smaller than the actions the grading demands.

The budget check is a lower bound, so it never refuses a scenario some solution fits: it counts
the action calls no passing run can avoid -- each fault's repair or containment (a restart, a
valve moved, a sensor flagged, a work order), each end-state predicate the plant does not meet
when the alarm sounds, and the escalation -- merging those one call can satisfy together
(restarting a motor runs its pump).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from agentrig.core.plant.checks import ScenarioProblem, layout_problems, line_of, yaml_lines
from agentrig.core.plant.errors import expected_from_error, field_path, is_internal
from agentrig.core.plant.layout import LayoutSpec, load_layout
from agentrig.core.plant.scenarios import (
    Scenario,
    read_scenario_file,
    resolve_layout_reference,
)
from agentrig.core.plant.simulator import PlantSimulator
from agentrig.exceptions import ScenarioError

__all__ = ["minimum_actions", "validate_scenario_file"]


def validate_scenario_file(path: Path) -> list[ScenarioProblem]:
    """Every problem of the scenario file ``path`` (empty when it is a valid scenario)."""
    where = str(path)
    try:
        data, text = read_scenario_file(path)
    except ScenarioError as error:
        return [ScenarioProblem(where, None, error.field, error.expected)]
    lines = yaml_lines(text)
    problems: list[ScenarioProblem] = []
    if "layout" in data:
        data["layout"] = resolve_layout_reference(data["layout"], path)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate({**data, "source": where})
    except ValidationError as error:
        for item in error.errors(include_url=False):
            location = tuple(part for part in item.get("loc", ()) if not is_internal(part))
            line = line_of(lines, location)
            expected = expected_from_error(item)
            if location[:1] == ("faults",) and location[-1:] == ("kind",):
                expected = f"a fault kind the plant can simulate: {expected}"
            problems.append(ScenarioProblem(where, line, field_path(location), expected))
    layout = _layout(data.get("layout", "default"), where, lines, problems)
    if layout is not None:
        for location, expected in layout_problems(data, layout):
            line = line_of(lines, location)
            problems.append(ScenarioProblem(where, line, field_path(location), expected))
    if scenario is not None and not problems:
        needed = minimum_actions(scenario)
        if scenario.step_budget < len(needed):
            problems.append(
                ScenarioProblem(
                    where,
                    line_of(lines, ("step_budget",)),
                    "step_budget",
                    f"at least {len(needed)} tool calls, the actions no passing run can avoid: "
                    f"{'; '.join(needed)} (got {scenario.step_budget})",
                )
            )
    return sorted(problems, key=lambda problem: problem.line or 0)


def _layout(
    name: object,
    where: str,
    lines: dict[tuple[str | int, ...], int],
    problems: list[ScenarioProblem],
) -> LayoutSpec | None:
    if not isinstance(name, str):
        return None
    try:
        return load_layout(name)
    except ScenarioError as error:
        expected = f"a built-in layout name or a layout file ({error})"
        problems.append(ScenarioProblem(where, line_of(lines, ("layout",)), "layout", expected))
        return None


@dataclass(frozen=True)
class _Need:
    action: str
    targets: frozenset[str]
    text: str


class _Needs:
    """Action calls a run cannot avoid; one call that satisfies two needs counts once."""

    def __init__(self, layout: LayoutSpec) -> None:
        self.layout = layout
        self.found: list[_Need] = []

    def add(self, action: str, targets: set[str], text: str) -> None:
        if not any(n.action == action and n.targets & targets for n in self.found):
            self.found.append(_Need(action, frozenset(targets), text))

    def machine_pair(self, device: str) -> set[str]:
        """A motor and the machine it drives: acting on either can satisfy a need of both."""
        if device not in self.layout.devices:
            return {device}
        driven = self.layout.drives(device)
        driver = self.layout.devices[device].driven_by
        return {device, *(other for other in (driven, driver) if other)}

    def for_fault(self, kind: str, target: str) -> None:
        pair = self.machine_pair(target)
        if kind == "tripped_breaker":
            self.add("restart_device", pair, f"restart_device {target}")
        elif kind == "ground_fault":
            self.add("isolate_device", {target}, f"isolate_device {target}")
            self.add("create_work_order", pair, f"create_work_order {target}")
        elif kind == "closed_valve":
            self.add("set_valve", {target}, f"set_valve {target}")
        elif kind in ("blocked_discharge", "bearing_wear", "motor_overheating"):
            self.add("create_work_order", pair, f"create_work_order {target}")
        elif kind in ("stuck_sensor", "sensor_drift"):
            self.add("flag_sensor", {target}, f"flag_sensor {target}")
        # supply_loss: the pumps drawing from the tank may already stand still


def minimum_actions(scenario: Scenario) -> list[str]:
    """The action calls every passing run of ``scenario`` must make, one line each."""
    state = PlantSimulator.from_scenario(scenario, run_id="validate").state
    needs = _Needs(state.layout)
    # Exact needs first (end-state predicates, judged on the plant as the alarm sounds), then
    # the faults' needs that they do not already cover.
    for predicate in scenario.required_end_state:
        target = predicate.target
        device = state.devices.get(target)
        wanted = predicate.op == "eq" and predicate.value in (True, "running")
        if predicate.field == "position" and device is not None:
            if not predicate.holds(device.position):
                needs.add("set_valve", {target}, f"set_valve {target}")
        elif predicate.field == "isolated" and device is not None:
            if not predicate.holds(device.isolated):
                needs.add("isolate_device", {target}, f"isolate_device {target}")
        elif predicate.field in ("running", "status") and device is not None:
            if wanted and not device.running:
                needs.add("restart_device", needs.machine_pair(target), f"restart_device {target}")
        elif predicate.field == "work_order" and wanted:
            needs.add("create_work_order", {target}, f"create_work_order {target}")
        elif predicate.field == "flagged" and wanted:
            needs.add("flag_sensor", {target}, f"flag_sensor {target}")
    for fault in scenario.faults:
        needs.for_fault(fault.kind, fault.target)
    if scenario.must_escalate:
        needs.add("escalate_to_human", {"a human"}, "escalate_to_human")
    return [need.text for need in needs.found]
