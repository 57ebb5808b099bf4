"""What to do about each root cause: the expert's remedy plans, safe by construction.

A plan is an ordered list of tool calls. Safety comes from the order and the checks: a valve is
reopened before the machine behind it restarts; a machine hurting itself is stopped, never
restarted; a faulty sensor is flagged instead of touching the healthy machine; a repair gets a
work order; a hazard needing a technician or a cause outside the plant goes to a human.

Plans are computed from the statuses the operator saw *before* acting (so re-planning after each
action gives the same plan), or -- for a recommendation or a hasty operator -- from whatever is
known, with sensible defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentrig.core.expert.diagnosis import Finding, Investigator, NeedInfo
from agentrig.core.expert.knowledge import MACHINES

__all__ = ["Step", "describe_steps", "plan_remedy"]

_MACHINE_WORDS = ("pump", "motor", "compressor", "fan", "blower")


@dataclass(frozen=True)
class Step:
    tool: str
    arguments: dict[str, Any]

    def describe(self) -> str:
        target = self.arguments.get("device_id") or self.arguments.get("sensor_id") or ""
        if self.tool == "set_valve":
            return f"set_valve {target} {self.arguments.get('open_percent'):g}"
        return f"{self.tool} {target}".strip()


def describe_steps(steps: Sequence[Step]) -> str:
    return "; ".join(step.describe() for step in steps) or "none"


def looks_like_machine(identifier: str) -> bool:
    return identifier.split("-")[0] in _MACHINE_WORDS


class _Planner:
    def __init__(self, investigator: Investigator, *, assume: bool) -> None:
        self.inv = investigator
        self.k = investigator.k
        self.assume = assume

    def before(self, device: str) -> dict[str, Any] | None:
        """What the device looked like before any action (or the best guess when assuming)."""
        known = self.k.first_status.get(device) or (self.k.device_list or {}).get(device)
        if known is not None or self.assume:
            return known
        return self.inv.status(device)

    def running(self, device: str) -> bool:
        info = self.before(device)
        if info is None:
            return self.assume and looks_like_machine(device)
        return info.get("status") == "running"

    def plan(self, finding: Finding, alarm_devices: Sequence[str]) -> list[Step]:
        label, target = finding.label, finding.device
        if label == "tripped_breaker":
            info = self.before(target)
            if info is not None and info.get("status") == "running":
                return []
            return [
                Step("restart_device", {"device_id": target, "reason": "reset the tripped breaker"})
            ]
        if label == "ground_fault":
            return [
                Step("isolate_device", {"device_id": target, "reason": "ground fault"}),
                Step(
                    "create_work_order",
                    {
                        "device_id": target,
                        "description": f"Ground fault on {target}: an electrician must test the "
                        "insulation and repair the winding before it is re-energised.",
                        "priority": "urgent",
                    },
                ),
                Step(
                    "escalate_to_human",
                    {
                        "summary": f"{target} tripped on a ground fault. It is isolated and a work "
                        "order is raised; an electrician is needed before it can run again.",
                        "device_id": target,
                        "severity": "critical",
                    },
                ),
            ]
        if label == "closed_valve":
            info = self.before(target) or {}
            normal = info.get("normal_position_percent") or 100
            steps = [Step("set_valve", {"device_id": target, "open_percent": float(normal)})]
            candidates = [*alarm_devices, *(info.get("fed_by") or [])]
            restarted: set[str] = set()
            for machine in dict.fromkeys(str(c) for c in candidates):
                state = self.before(machine)
                if state is None:
                    stopped = (
                        self.assume and looks_like_machine(machine) and machine in alarm_devices
                    )
                else:
                    stopped = (
                        state.get("kind") in MACHINES
                        and state.get("status") in ("stopped", "tripped")
                        and not state.get("isolated")
                    )
                coupled = {str((state or {}).get(key)) for key in ("driven_by", "drives")}
                if stopped and not (coupled & restarted):
                    steps.append(
                        Step(
                            "restart_device", {"device_id": machine, "reason": f"{target} reopened"}
                        )
                    )
                    restarted.add(machine)
            return steps
        if label == "blocked_discharge":
            info = self.before(target) or {}
            if info.get("kind") in MACHINES or (not info and looks_like_machine(target)):
                machines = [target]
            else:
                machines = [str(m) for m in info.get("fed_by") or [] if self._is_machine(str(m))]
            steps = [
                Step("stop_device", {"device_id": m, "reason": f"discharge blocked at {target}"})
                for m in machines
                if self.running(m)
            ]
            steps.append(
                Step(
                    "create_work_order",
                    {
                        "device_id": target,
                        "description": f"Discharge blocked at {target}: clear the obstruction "
                        "before the pump is restarted.",
                        "priority": "high",
                    },
                )
            )
            return steps
        if label in ("bearing_wear", "motor_overheating"):
            what = "Replace the bearings of" if label == "bearing_wear" else "Repair the cooling of"
            steps = []
            if self.running(target):
                steps.append(
                    Step("stop_device", {"device_id": target, "reason": label.replace("_", " ")})
                )
            steps.append(
                Step(
                    "create_work_order",
                    {
                        "device_id": target,
                        "description": f"{what} {target} ({label.replace('_', ' ')}).",
                        "priority": "high",
                    },
                )
            )
            return steps
        if label in ("stuck_sensor", "sensor_drift"):
            fault = "frozen" if label == "stuck_sensor" else "drifting"
            return [
                Step(
                    "flag_sensor",
                    {"sensor_id": target, "reason": f"{fault}; disagrees with its neighbours"},
                ),
                Step(
                    "create_work_order",
                    {
                        "device_id": target,
                        "description": f"Sensor {target} is {fault}: check, recalibrate or replace it.",
                        "priority": "medium",
                    },
                ),
            ]
        if label == "supply_loss":
            steps = [
                Step("stop_device", {"device_id": pump, "reason": f"{target} running dry"})
                for pump in self.pumps_fed_from(target)
                if self.running(pump)
            ]
            steps.append(
                Step(
                    "escalate_to_human",
                    {
                        "summary": f"The external supply into {target} has stopped and its level "
                        "is falling; the pumps drawing from it are stopped. Restore the supply.",
                        "device_id": target,
                        "severity": "high",
                    },
                )
            )
            return steps
        return [
            Step(
                "escalate_to_human",
                {
                    "summary": f"Could not determine the cause: {finding.evidence}",
                    "device_id": target or None,
                    "severity": "high",
                },
            )
        ]

    def _is_machine(self, device: str) -> bool:
        info = self.before(device)
        if info is None:
            return looks_like_machine(device)
        return info.get("kind") in MACHINES

    def pumps_fed_from(self, tank: str) -> list[str]:
        """Machines drawing from ``tank``, through any valves."""
        found: list[str] = []
        frontier = [tank]
        for _ in range(4):
            following: list[str] = []
            for device in frontier:
                info = self.before(device) or {}
                for nxt in info.get("feeds") or []:
                    nxt = str(nxt)
                    if self._is_machine(nxt):
                        found.append(nxt)
                    else:
                        following.append(nxt)
            frontier = following
            if not frontier:
                break
        return list(dict.fromkeys(found))


def plan_remedy(
    findings: Sequence[Finding],
    investigator: Investigator,
    alarm_devices: Sequence[str],
    *,
    assume: bool = False,
) -> list[Step]:
    """The steps that fix ``findings``, in order, without duplicates.

    With ``assume`` False, a missing status raises :class:`NeedInfo` (the operator checks before
    acting); with ``assume`` True, defaults stand in (a recommendation, a hasty operator).
    """
    planner = _Planner(investigator, assume=assume)
    steps: list[Step] = []
    missing: list[tuple[str, dict[str, Any]]] = []
    for finding in findings:
        try:
            planned = planner.plan(finding, alarm_devices)
        except NeedInfo as need:
            missing.extend(need.requests)
            continue
        for step in planned:
            if step not in steps:
                steps.append(step)
    if missing:
        raise NeedInfo(missing)
    return steps
