"""Checking a scenario against its plant, problem by problem, and where each one is in the file.

Loading a scenario stops at its first problem (:class:`~agentrig.exceptions.ScenarioError`);
``agentrig scenarios validate`` reports them all. Both use the checks here, which read the raw
YAML mapping so that one bad field (a fault kind the plant cannot simulate) does not hide
another (a device the layout lacks). :func:`yaml_lines` finds the line each field is on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from agentrig.core.plant.faults import FAULT_TARGET_KINDS
from agentrig.core.plant.layout import MACHINE_KINDS, LayoutSpec
from agentrig.core.plant.tools import ACTION_TOOLS

__all__ = [
    "Location",
    "ScenarioProblem",
    "layout_problems",
    "line_of",
    "predicate_fields_of",
    "yaml_lines",
]

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class ScenarioProblem:
    """One problem in a scenario file: where it is and what was expected there."""

    path: str
    line: int | None
    field: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        what = f"field {self.field!r}" if self.field else "the file"
        return f"{where}: {what}: {self.expected}"


def yaml_lines(text: str) -> dict[Location, int]:
    """The 1-based line of every mapping key and sequence item of a YAML document."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[Location, int] = {}

    def walk(node: yaml.Node, location: Location) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*location, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*location, index)] = item.start_mark.line + 1
                walk(item, (*location, index))

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def line_of(lines: Mapping[Location, int], location: Location) -> int | None:
    """The line of ``location``, or of its nearest enclosing field (a missing field's parent)."""
    for end in range(len(location), -1, -1):
        if location[:end] in lines:
            return lines[location[:end]]
    return None


_EVERY_DEVICE = ("status", "isolated", "work_order")
_BY_KIND: dict[str, tuple[str, ...]] = {
    **{kind: ("running", "trips") for kind in MACHINE_KINDS},
    "valve": ("position",),
    "tank": ("level",),
}
_SENSOR_FIELDS = ("value", "flagged", "work_order")


def predicate_fields_of(target: str, layout: LayoutSpec) -> tuple[str, ...]:
    """The predicate fields a device or sensor of ``layout`` has (empty when it is unknown)."""
    if target in layout.devices:
        return (*_EVERY_DEVICE, *_BY_KIND.get(layout.devices[target].kind, ()))
    if target in layout.all_sensors():
        return _SENSOR_FIELDS
    return ()


def _items(data: Mapping[str, Any], name: str) -> list[tuple[int, Mapping[str, Any]]]:
    value = data.get(name)
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, Mapping)]


def layout_problems(data: Mapping[str, Any], layout: LayoutSpec) -> list[tuple[Location, str]]:
    """Every id the raw scenario ``data`` names that its layout lacks or cannot take there.

    Returns (location, what was expected) pairs, in file order. Values of the wrong type are
    left to the scenario model's own validation.
    """
    problems: list[tuple[Location, str]] = []
    sensors = layout.all_sensors()

    def known(location: Location, value: Any, *, sensors_ok: bool = True) -> str | None:
        """``value`` when the layout has it; else None, with the problem noted."""
        if not isinstance(value, str):
            return None
        if value in layout.devices or (sensors_ok and value in sensors):
            return value
        what = "a device or sensor id" if sensors_ok else "a device id"
        problems.append((location, f"{what} of layout {layout.name!r} (got {value!r})"))
        return None

    alarm = data.get("alarm")
    if isinstance(alarm, Mapping) and "device" in alarm:
        known(("alarm", "device"), alarm["device"], sensors_ok=False)
    overrides = data.get("overrides")
    if isinstance(overrides, Mapping):
        for device_id in overrides:
            known(("overrides", str(device_id)), device_id, sensors_ok=False)
    for index, fault in _items(data, "faults"):
        problems.extend(_fault_problems(index, fault, layout, known))
    for index, cause in _items(data, "expected_root_causes"):
        if "device" in cause:
            known(("expected_root_causes", index, "device"), cause["device"])
        others = cause.get("accept_devices")
        for other in others if isinstance(others, list) else []:
            known(("expected_root_causes", index, "accept_devices"), other)
    for index, predicate in _items(data, "required_end_state"):
        target = known(("required_end_state", index, "target"), predicate.get("target"))
        if target is not None:
            fields = predicate_fields_of(target, layout)
            field = predicate.get("field")
            if isinstance(field, str) and field not in fields:
                kind = layout.devices[target].kind if target in layout.devices else "sensor"
                problems.append(
                    (
                        ("required_end_state", index, "field"),
                        f"a field a {kind} has: {', '.join(fields)} (got {field!r} for {target})",
                    )
                )
    for index, forbidden in _items(data, "forbidden_actions"):
        tool = forbidden.get("tool")
        if isinstance(tool, str) and tool not in ACTION_TOOLS:
            problems.append(
                (
                    ("forbidden_actions", index, "tool"),
                    f"one of the action tools {', '.join(ACTION_TOOLS)} (got {tool!r})",
                )
            )
        if forbidden.get("device") is not None:
            known(("forbidden_actions", index, "device"), forbidden["device"])
    for index, entry in _items(data, "maintenance_log"):
        if "device_id" in entry:
            known(("maintenance_log", index, "device_id"), entry["device_id"])
    return problems


def _fault_problems(
    index: int,
    fault: Mapping[str, Any],
    layout: LayoutSpec,
    known: Callable[[Location, Any], str | None],
) -> list[tuple[Location, str]]:
    target_at: Location = ("faults", index, "target")
    target = known(target_at, fault["target"]) if "target" in fault else None
    if target is None:
        return []
    kinds = FAULT_TARGET_KINDS.get(str(fault.get("kind")))
    if kinds is None:  # an unknown kind: the model's validation lists the kinds
        return []
    sensors = layout.all_sensors()
    actual = "sensor" if target in sensors else layout.devices[target].kind
    if actual not in kinds:
        expected = f"a {' or '.join(kinds)} for a {fault['kind']} fault (got {actual} {target!r})"
        return [(target_at, expected)]
    if fault["kind"] == "stuck_sensor" and fault.get("value") is None:
        return [(("faults", index, "value"), "the reading the sensor is stuck at")]
    if fault["kind"] == "supply_loss" and layout.devices[target].supply_m3h is None:
        return [(target_at, "a tank with an external supply (supply_m3h)")]
    return []
