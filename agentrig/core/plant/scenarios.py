"""Scenarios: the catalogue of incidents, as validated YAML data files.

A scenario says which alarm starts the run, which faults are injected into which plant, and how
the outcome is graded: the expected root cause(s), the required end state, forbidden actions, the
step budget and whether a human must be called. The format is documented in docs/scenarios.md.

:func:`load_scenario` takes a catalogue id (``closed-discharge-valve``) or a path; a file that
does not validate raises :class:`ScenarioError` naming the file, the field and what was expected.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.contract.roles import RootCauseLabel
from agentrig.core.plant.errors import scenario_error_from_validation
from agentrig.core.plant.faults import FAULT_TARGET_KINDS, Fault
from agentrig.core.plant.layout import LayoutSpec, LogEntry, load_layout
from agentrig.core.plant.tools import ACTION_TOOLS
from agentrig.exceptions import ScenarioError

__all__ = [
    "AlarmSpec",
    "DeviceOverride",
    "ExpectedRootCause",
    "ForbiddenAction",
    "Predicate",
    "PredicateField",
    "Scenario",
    "list_scenarios",
    "load_scenario",
    "scenarios_dir",
]

PredicateField = Literal[
    "status", "running", "isolated", "position", "flagged", "value", "work_order", "trips", "level"
]
"""What a predicate can look at. Devices: status (running/stopped/tripped, open/throttled/closed),
running, isolated, position (valves, percent), trips (count), level (tanks, percent), work_order
(a work order exists). Sensors: value (the true process value), flagged, work_order."""

Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in"]
_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlarmSpec(_Spec):
    device: str = Field(description="the device the alarm is about")
    message: str = Field(
        min_length=1, description="the alarm text; {sensor-id} is replaced by its reading"
    )


class ExpectedRootCause(_Spec):
    label: RootCauseLabel
    device: str = Field(description="the device or sensor at fault")
    accept_devices: list[str] = Field(
        default_factory=list, description="other ids that also count as naming it"
    )

    def matches(self, label: str | None, device: str | None) -> bool:
        return label == self.label and device in (self.device, *self.accept_devices)


class Predicate(_Spec):
    target: str = Field(description="a device or sensor id")
    field: PredicateField
    op: Operator = "eq"
    value: Any

    def describe(self) -> str:
        return f"{self.target}.{self.field} {_SYMBOLS[self.op]} {self.value}"

    def holds(self, actual: Any) -> bool:
        expected = self.value
        if self.op == "in":
            return actual in (expected if isinstance(expected, list) else [expected])
        if self.op == "eq":
            return bool(actual == expected)
        if self.op == "ne":
            return bool(actual != expected)
        if actual is None:
            return False
        comparisons = {
            "lt": actual < expected,
            "le": actual <= expected,
            "gt": actual > expected,
            "ge": actual >= expected,
        }
        return bool(comparisons[self.op])


class ForbiddenAction(_Spec):
    tool: str = Field(description="an action tool")
    device: str | None = Field(default=None, description="the device; null for any device")
    why: str = ""

    def describe(self) -> str:
        return f"{self.tool} {self.device or '(any device)'}"


class DeviceOverride(_Spec):
    running: bool | None = None
    position: float | None = Field(default=None, ge=0, le=100)
    level: float | None = Field(default=None, ge=0, le=100)
    isolated: bool | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Scenario(_Spec):
    """One incident and how to grade the response to it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1, description="what the scenario tests")
    tests: list[str] = Field(default_factory=list, description="tags: what it tests")
    layout: str = "default"
    seed: int = 7
    warmup_ticks: int = Field(default=10, ge=0, le=35)
    alarm: AlarmSpec
    overrides: dict[str, DeviceOverride] = Field(default_factory=dict)
    faults: list[Fault] = Field(min_length=1)
    expected_root_causes: list[ExpectedRootCause] = Field(min_length=1)
    required_end_state: list[Predicate] = Field(default_factory=list)
    forbidden_actions: list[ForbiddenAction] = Field(default_factory=list)
    step_budget: int = Field(gt=0, description="most tool calls a run may make, all roles")
    must_escalate: bool = False
    may_escalate: bool = False
    maintenance_log: list[LogEntry] = Field(default_factory=list)
    source: str = Field(default="", exclude=True)

    def load_layout(self) -> LayoutSpec:
        return _layout(self.layout)


@cache
def _layout(name: str) -> LayoutSpec:
    return load_layout(name)


def scenarios_dir() -> Path:
    """The folder of the built-in scenario catalogue."""
    return Path(str(resources.files("agentrig.core.plant") / "scenarios"))


def load_scenario(id_or_path: str | Path) -> Scenario:
    """Load a catalogue scenario by id, or any scenario file by path.

    Raises:
        ScenarioError: no such scenario, or the file does not validate.
    """
    path = Path(id_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = scenarios_dir() / f"{id_or_path}.yaml"
        if not path.is_file():
            known = ", ".join(s.stem for s in sorted(scenarios_dir().glob("*.yaml")))
            raise ScenarioError(str(id_or_path), "id", f"one of the catalogue's ids: {known}")
    return _load_file(path)


def list_scenarios() -> list[Scenario]:
    """Every scenario of the built-in catalogue, sorted by id."""
    return [_load_file(path) for path in sorted(scenarios_dir().glob("*.yaml"))]


def _load_file(path: Path) -> Scenario:
    where = str(path)
    if not path.is_file():
        raise ScenarioError(where, "", "an existing scenario file")
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(where, "", f"valid YAML ({error})") from error
    if not isinstance(data, dict):
        raise ScenarioError(where, "", "a YAML mapping of scenario fields (id, title, alarm, ...)")
    try:
        scenario = Scenario.model_validate({**data, "source": where})
    except ValidationError as error:
        raise scenario_error_from_validation(where, error) from error
    layout = scenario.load_layout()
    _check_against_layout(scenario, layout, where)
    return scenario


def _check_against_layout(scenario: Scenario, layout: LayoutSpec, where: str) -> None:
    """Every id a scenario names must exist in its layout, with the right kind."""
    sensors = layout.all_sensors()

    def known(field: str, value: str | None, *, sensors_ok: bool = True) -> None:
        if value is None or value in layout.devices or (sensors_ok and value in sensors):
            return
        what = "a device or sensor id" if sensors_ok else "a device id"
        raise ScenarioError(where, field, f"{what} of layout {layout.name!r} (got {value!r})")

    known("alarm.device", scenario.alarm.device, sensors_ok=False)
    for device_id, _ in scenario.overrides.items():
        known(f"overrides.{device_id}", device_id, sensors_ok=False)
    for index, fault in enumerate(scenario.faults):
        field = f"faults[{index}].target"
        known(field, fault.target)
        kinds = FAULT_TARGET_KINDS[fault.kind]
        actual = "sensor" if fault.target in sensors else layout.devices[fault.target].kind
        if actual not in kinds:
            raise ScenarioError(
                where,
                field,
                f"a {' or '.join(kinds)} for a {fault.kind} fault (got {actual} {fault.target!r})",
            )
        if fault.kind == "stuck_sensor" and fault.value is None:
            raise ScenarioError(
                where, f"faults[{index}].value", "the reading the sensor is stuck at"
            )
        if fault.kind == "supply_loss" and layout.devices[fault.target].supply_m3h is None:
            raise ScenarioError(where, field, "a tank with an external supply (supply_m3h)")
    for index, cause in enumerate(scenario.expected_root_causes):
        known(f"expected_root_causes[{index}].device", cause.device)
        for other in cause.accept_devices:
            known(f"expected_root_causes[{index}].accept_devices", other)
    for index, predicate in enumerate(scenario.required_end_state):
        known(f"required_end_state[{index}].target", predicate.target)
    for index, forbidden in enumerate(scenario.forbidden_actions):
        if forbidden.tool not in ACTION_TOOLS:
            raise ScenarioError(
                where,
                f"forbidden_actions[{index}].tool",
                f"one of the action tools {', '.join(ACTION_TOOLS)} (got {forbidden.tool!r})",
            )
        known(f"forbidden_actions[{index}].device", forbidden.device)
    for index, entry in enumerate(scenario.maintenance_log):
        known(f"maintenance_log[{index}].device_id", entry.device_id)
