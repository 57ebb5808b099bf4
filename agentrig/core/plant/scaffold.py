"""``agentrig scenarios new``: a commented scenario file to start an incident from.

:func:`scaffold_scenario` writes a scenario that validates as it is -- the alarm on a device, one
fault of a kind the plant can simulate in the right place, the root cause, an end state and a
budget that fit it -- with a comment on every field saying what to change. The target of the
fault is chosen from the alarm device when not given: the device itself when the fault applies
to its kind, else its motor (motor faults), its discharge valve (valve faults), its first sensor
(sensor faults) or the tank it draws from (supply loss).
"""

from __future__ import annotations

import json

from agentrig.core.plant.faults import FAULT_TARGET_KINDS
from agentrig.core.plant.layout import LayoutSpec
from agentrig.exceptions import ConfigurationError

__all__ = ["default_target", "scaffold_scenario"]

# Parameters that make each kind visible within the warm-up and grow slowly enough to act on.
_PARAMETERS: dict[str, str] = {
    "tripped_breaker": "start_tick: 7",
    "ground_fault": "start_tick: 6",
    "closed_valve": "start_tick: 3, value: 0",
    "blocked_discharge": "start_tick: 0, severity: 0.3, rate: 0.005",
    "bearing_wear": "start_tick: 0, severity: 0.5, rate: 0.01",
    "motor_overheating": "start_tick: 0, severity: 0.43, rate: 0.005",
    "sensor_drift": "start_tick: 0, severity: 6.0, rate: 0.8",
    "supply_loss": "start_tick: 0, severity: 1.0",
}


def default_target(layout: LayoutSpec, device: str, kind: str) -> str:
    """Where a ``kind`` fault goes for an alarm on ``device`` (see the module docstring).

    Raises:
        ConfigurationError: no device near ``device`` can take a ``kind`` fault; give --target.
    """
    kinds = FAULT_TARGET_KINDS[kind]
    spec = layout.devices[device]
    candidates: list[str | None] = [device]
    if "motor" in kinds:
        candidates.append(spec.driven_by)
    if "valve" in kinds:
        candidates.extend(spec.feeds)
    if "sensor" in kinds:
        candidates.extend(spec.sensors)
    if "tank" in kinds:
        candidates.extend(layout.fed_by(device))
        candidates.extend(t for f in layout.fed_by(device) for t in layout.fed_by(f))
    for candidate in candidates:
        if candidate is None:
            continue
        actual = "sensor" if candidate in layout.all_sensors() else layout.devices[candidate].kind
        if actual in kinds and (kind != "supply_loss" or layout.devices[candidate].supply_m3h):
            return candidate
    raise ConfigurationError(
        f"--fault {kind}: no {' or '.join(kinds)} at or next to {device}; name one with --target"
    )


def _end_state(kind: str, target: str, layout: LayoutSpec) -> list[str]:
    driven = layout.drives(target) or target
    return {
        "tripped_breaker": [f"{{target: {driven}, field: status, op: eq, value: running}}"],
        "ground_fault": [
            f"{{target: {target}, field: isolated, op: eq, value: true}}",
            f"{{target: {target}, field: work_order, op: eq, value: true}}",
        ],
        "closed_valve": [f"{{target: {target}, field: position, op: ge, value: 90}}"],
        "blocked_discharge": [f"{{target: {target}, field: work_order, op: eq, value: true}}"],
        "bearing_wear": [
            f"{{target: {target}, field: running, op: eq, value: false}}",
            f"{{target: {target}, field: work_order, op: eq, value: true}}",
        ],
        "motor_overheating": [
            f"{{target: {target}, field: running, op: eq, value: false}}",
            f"{{target: {target}, field: work_order, op: eq, value: true}}",
        ],
        "stuck_sensor": [f"{{target: {target}, field: flagged, op: eq, value: true}}"],
        "sensor_drift": [f"{{target: {target}, field: flagged, op: eq, value: true}}"],
        "supply_loss": [],
    }[kind]


def _stuck_value(layout: LayoutSpec, sensor: str) -> float:
    spec = layout.sensor(sensor)
    high = spec.alarm_high if spec.alarm_high is not None else spec.normal[1] * 1.3
    return round(high * 1.05, 1)


def scaffold_scenario(
    layout: LayoutSpec,
    layout_ref: str,
    scenario_id: str,
    device: str,
    kind: str,
    target: str | None = None,
) -> str:
    """The text of a new scenario file: ``kind`` fault, alarm on ``device``, every field commented.

    Raises:
        ConfigurationError: ``device`` or ``target`` is not in the layout, or no target fits.
    """
    if device not in layout.devices:
        raise ConfigurationError(
            f"--device {device}: not a device of layout {layout.name!r}; it has "
            + ", ".join(layout.devices)
        )
    if kind not in FAULT_TARGET_KINDS:
        raise ConfigurationError(
            f"--fault {kind}: the plant simulates {', '.join(FAULT_TARGET_KINDS)}"
        )
    target = target or default_target(layout, device, kind)
    if target not in layout.devices and target not in layout.all_sensors():
        raise ConfigurationError(f"--target {target}: not a device or sensor of {layout.name!r}")
    if kind == "stuck_sensor":
        parameters = f"start_tick: 3, value: {_stuck_value(layout, target)}"
    else:
        parameters = _PARAMETERS[kind]
    # The reading in the alarm: the faulty sensor, else one of the faulty device, else any.
    if target in layout.all_sensors():
        shown: str | None = target
    else:
        shown = next(iter([*layout.devices[target].sensors, *layout.devices[device].sensors]), None)
    reading = f" ({shown} {{{shown}}})" if shown else ""
    escalate = kind in ("ground_fault", "supply_loss")
    end_state = _end_state(kind, target, layout)
    lines = [
        f"# A scenario for agentrig: `agentrig scenarios validate {scenario_id}.yaml` checks it,",
        f"# `agentrig run -f plain -s {scenario_id}.yaml` runs it. Format: docs/scenarios.md.",
        f"id: {scenario_id}                # lower-case letters, digits, dashes; runs are named by it",
        f"title: {kind.replace('_', ' ').capitalize()} behind an alarm on {device}"
        "   # one line for tables",
        "description: >-                  # what the scenario tests and what a good response is",
        f"  A {kind.replace('_', ' ')} on {target} raises an alarm on {device}. Say here what",
        "  the agents must find, what they must do, and what would be a mistake.",
        f"tests: [{'escalation' if escalate else 'straightforward'}]"
        "   # tags: straightforward, false_alarm, safety_trap, cascade, escalation, ...",
        f"layout: {layout_ref}               # a built-in layout name, or a layout file "
        "(relative to this file)",
        "seed: 7                          # the noise seed (a run's repeat k uses seed + k)",
        "warmup_ticks: 10                 # ticks (30 s each) simulated before the alarm, 0-35",
        "alarm:                           # what starts the run: the monitor receives it",
        f"  device: {device}              # the device the alarm is about",
        "  message: >-                    # what the monitor receives; {sensor-id} becomes a reading",
        f"    ALARM {device}: abnormal condition{reading}.",
        "overrides: {}                    # start state per device: {running, position, level, "
        "isolated}",
        "faults:                          # what is wrong: kind, target, when and how badly",
        f"  - {{kind: {kind}, target: {target}, {parameters}}}",
        "expected_root_causes:            # the operator's answer must name each, and nothing else",
        f"  - {{label: {kind}, device: {target}, accept_devices: []}}"
        "   # accept_devices: other ids that count",
        f"required_end_state:{'' if end_state else ' []'}"
        "              # predicates on the plant the agents leave behind",
        *[f"  - {predicate}" for predicate in end_state],
        "forbidden_actions: []            # e.g. {tool: restart_device, device: "
        f"{device}, why: the obvious wrong move}}",
        "step_budget: 30                  # most tool calls a run may make, all roles together",
        f"must_escalate: {json.dumps(escalate)}             # a human must be called",
        "may_escalate: false              # escalating is allowed although not needed",
        "maintenance_log: []              # e.g. {t_s: -5400, device_id: "
        f"{device}, entry: what was done to it}}",
    ]
    return "\n".join(_align_comments(lines)) + "\n"


def _align_comments(lines: list[str], column: int = 34) -> list[str]:
    aligned = []
    for line in lines:
        text, hash_, comment = line.partition(" # ")
        if not hash_ or line.startswith("#"):
            aligned.append(line)
            continue
        text = text.rstrip()
        aligned.append(f"{text.ljust(column - 1)} # {comment}")
    return aligned
