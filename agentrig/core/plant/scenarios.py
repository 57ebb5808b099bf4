"""Scenarios: the catalogue of incidents, as validated YAML data files.

A scenario says which alarm starts the run, which faults are injected into which plant, and how
the outcome is graded: the expected root cause(s), the required end state, forbidden actions, the
step budget and whether a human must be called. The format is documented in docs/scenarios.md.

:func:`load_scenario` takes a catalogue id (``closed-discharge-valve``), a pack's id or a path; a
file that does not validate raises :class:`ScenarioError` naming the file, the field and what was
expected (``agentrig scenarios validate`` lists every problem: :mod:`.validation`). Every loaded
scenario knows its :attr:`~Scenario.origin`: the catalogue, a pack (:mod:`.packs`) or a file.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.contract.roles import RootCauseLabel
from agentrig.core.plant.checks import layout_problems
from agentrig.core.plant.errors import field_path, scenario_error_from_validation
from agentrig.core.plant.faults import Fault
from agentrig.core.plant.layout import LayoutSpec, LogEntry, load_layout
from agentrig.core.plant.packs import PACK_PREFIX, installed_packs
from agentrig.exceptions import ScenarioError

__all__ = [
    "CATALOGUE",
    "AlarmSpec",
    "DeviceOverride",
    "ExpectedRootCause",
    "ForbiddenAction",
    "Predicate",
    "PredicateField",
    "Scenario",
    "catalogue_ids",
    "is_layout_file",
    "is_scenario_path",
    "list_scenarios",
    "load_scenario",
    "pack_scenarios",
    "read_scenario_file",
    "resolve_layout_reference",
    "scenario_files",
    "scenarios_dir",
]

CATALOGUE = "catalogue"
"""The origin of a built-in scenario."""

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
    """The file it was loaded from."""
    origin: str = Field(default="", exclude=True)
    """Where it came from: ``catalogue``, ``pack:<distribution>``, or its file's absolute path."""

    def load_layout(self) -> LayoutSpec:
        return _layout(self.layout)


@cache
def _layout(name: str) -> LayoutSpec:
    return load_layout(name)


def scenarios_dir() -> Path:
    """The folder of the built-in scenario catalogue."""
    return Path(str(resources.files("agentrig.core.plant") / "scenarios"))


def is_scenario_path(id_or_path: str | Path) -> bool:
    """Whether ``id_or_path`` names a file (it ends in .yaml or .yml) rather than an id."""
    return Path(id_or_path).suffix in (".yaml", ".yml")


def load_scenario(id_or_path: str | Path, source: str | None = None) -> Scenario:
    """Load a scenario by id, or any scenario file by path.

    ``source`` says where the id lives: ``catalogue``, ``pack:<distribution>`` or a file path
    (what :attr:`Scenario.origin` and a run's ``scenario_source`` hold). Without it an id is
    looked up in the catalogue, then in the installed packs.

    Raises:
        ScenarioError: no such scenario, the file does not validate, or the file at ``source``
            now holds another id.
    """
    if source is not None and source != CATALOGUE:
        if source.startswith(PACK_PREFIX):
            return _from_packs(str(id_or_path), source)
        scenario = _load_file(Path(source))
        if scenario.id != str(id_or_path) and not is_scenario_path(id_or_path):
            raise ScenarioError(
                source, "id", f"the scenario {id_or_path!r} (the file now says {scenario.id!r})"
            )
        return scenario
    if is_scenario_path(id_or_path):
        return _load_file(Path(id_or_path))
    path = scenarios_dir() / f"{id_or_path}.yaml"
    if path.is_file():
        return _load_file(path, origin=CATALOGUE)
    if source is None:
        return _from_packs(str(id_or_path), None)
    raise ScenarioError(
        str(id_or_path), "id", f"one of the catalogue's ids: {', '.join(catalogue_ids())}"
    )


def catalogue_ids() -> list[str]:
    """The ids of the built-in catalogue, sorted."""
    return [path.stem for path in sorted(scenarios_dir().glob("*.yaml"))]


def _from_packs(scenario_id: str, origin: str | None) -> Scenario:
    found = [
        scenario
        for scenario in pack_scenarios()
        if scenario.id == scenario_id and origin in (None, scenario.origin)
    ]
    if len(found) == 1:
        return found[0]
    if found:
        places = ", ".join(scenario.source for scenario in found)
        raise ScenarioError(scenario_id, "id", f"one scenario with that id (found in {places})")
    known = ", ".join(catalogue_ids())
    if origin is not None:
        raise ScenarioError(scenario_id, "id", f"a scenario of {origin} (is it still installed?)")
    raise ScenarioError(
        scenario_id, "id", f"one of the catalogue's ids: {known}, or a pack's, a file or a folder"
    )


def list_scenarios() -> list[Scenario]:
    """Every scenario of the built-in catalogue, sorted by id."""
    return [_load_file(path, origin=CATALOGUE) for path in sorted(scenarios_dir().glob("*.yaml"))]


def pack_scenarios() -> list[Scenario]:
    """Every scenario of every installed pack (``agentrig.scenarios`` entry points)."""
    return [
        _load_file(path, origin=pack.origin)
        for pack in installed_packs()
        for path in scenario_files(pack.folder)
    ]


def scenario_files(folder: Path) -> list[Path]:
    """The scenario files of a folder, sorted: its YAML files but the plant layouts among them."""
    return [
        path
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        if path.is_file() and not is_layout_file(path)
    ]


def is_layout_file(path: Path) -> bool:
    """Whether a YAML file is a plant layout (it has devices and no alarm), not a scenario."""
    # A layout beside its scenarios is named by them, not run: it has devices and no alarm.
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "devices" in data and "alarm" not in data


def read_scenario_file(path: Path) -> tuple[dict[str, Any], str]:
    """The raw mapping of a scenario file and its text.

    Raises:
        ScenarioError: the file is missing, not YAML, or not a mapping.
    """
    where = str(path)
    if not path.is_file():
        raise ScenarioError(where, "", "an existing scenario file")
    text = path.read_text("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScenarioError(where, "", f"valid YAML ({error})") from error
    if not isinstance(data, dict):
        raise ScenarioError(where, "", "a YAML mapping of scenario fields (id, title, alarm, ...)")
    return data, text


def resolve_layout_reference(layout: object, scenario_file: Path) -> object:
    """A layout path relative to the scenario file, made absolute; a name or bad value as is.

    Relative to the file, not the working directory: a run may load the scenario in another
    process, from another directory (``compare --kill``, ``--resume``).
    """
    if isinstance(layout, str) and is_scenario_path(layout) and not Path(layout).is_absolute():
        return str((scenario_file.parent / layout).resolve())
    return layout


def _load_file(path: Path, *, origin: str | None = None) -> Scenario:
    where = str(path)
    data, _ = read_scenario_file(path)
    if "layout" in data:
        data["layout"] = resolve_layout_reference(data["layout"], path)
    origin = origin or str(path.resolve())
    try:
        scenario = Scenario.model_validate({**data, "source": where, "origin": origin})
    except ValidationError as error:
        raise scenario_error_from_validation(where, error) from error
    try:
        layout = scenario.load_layout()
    except ScenarioError as error:
        raise ScenarioError(
            where, "layout", f"a built-in layout name or a layout file ({error})"
        ) from None
    problems = layout_problems(data, layout)
    if problems:
        location, expected = problems[0]
        raise ScenarioError(where, field_path(location), expected)
    return scenario
