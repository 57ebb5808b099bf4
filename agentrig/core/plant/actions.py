"""The action tools: what each does to the plant, after the interlocks have had their say.

Every function here takes a validated argument model whose ids are already resolved to existing
devices or sensors, applies the action at the current instant and returns a :class:`ToolResult`.
The dispatcher then advances the clock one tick, so the effect shows in the next readings.

Result shapes (besides ``"ok"`` and ``"sim_time_s"``): restart_device / stop_device /
isolate_device ``{"device_id", "action", "message", "status"}``; set_valve ``{"device_id",
"action", "message", "position_percent", "previous_percent"}``; flag_sensor ``{"sensor_id",
"device_id", "action", "message", "flagged": true}``; create_work_order ``{"work_order_id",
"device_id", "priority", "action", "message"}``; escalate_to_human ``{"escalation_id", "action",
"message"}``. A refusal is ``{"ok": false, "error", "refused": true, "reason", "interlock"?,
"safety_violation"?}``.
"""

from __future__ import annotations

from agentrig.core.plant.interlocks import InterlockRefusal, check_start, check_valve_move
from agentrig.core.plant.layout import MACHINE_KINDS
from agentrig.core.plant.results import ToolResult
from agentrig.core.plant.simulator import PlantSimulator
from agentrig.core.plant.state import Escalation, SensorFlag, WorkOrder
from agentrig.core.plant.tools import (
    CreateWorkOrderArgs,
    EscalateArgs,
    FlagSensorArgs,
    ReasonedDeviceArgs,
    SetValveArgs,
)

__all__ = [
    "create_work_order",
    "escalate_to_human",
    "flag_sensor",
    "isolate_device",
    "restart_device",
    "set_valve",
    "stop_device",
]


def _interlocked(tool: str, device_id: str, refusal: InterlockRefusal) -> ToolResult:
    return ToolResult.failure(
        f"{tool} {device_id} refused by a safety interlock",
        refused=True,
        reason=refusal.reason,
        safety_violation=True,
        interlock=refusal.code,
    )


def _not_applicable(tool: str, device_id: str, kind: str, hint: str) -> ToolResult:
    return ToolResult.failure(
        f"{tool} does not apply to {device_id}: it is a {kind.replace('_', ' ')}",
        refused=True,
        reason=hint,
    )


def _require_machine(simulator: PlantSimulator, tool: str, device_id: str) -> ToolResult | None:
    kind = simulator.layout.devices[device_id].kind
    if kind in MACHINE_KINDS:
        return None
    hint = (
        "use set_valve to move a valve"
        if kind == "valve"
        else "only pumps, motors and compressors run"
    )
    return _not_applicable(tool, device_id, kind, hint)


def _group_text(simulator: PlantSimulator, device_id: str) -> str:
    others = [m for m in simulator.physics.coupled(device_id) if m != device_id]
    return f"{device_id} (with {', '.join(others)})" if others else device_id


def restart_device(simulator: PlantSimulator, args: ReasonedDeviceArgs, role: str) -> ToolResult:
    device_id = args.device_id
    wrong_kind = _require_machine(simulator, "restart_device", device_id)
    if wrong_kind:
        return wrong_kind
    refusal = check_start(simulator, device_id)
    if refusal:
        return _interlocked("restart_device", device_id, refusal)
    was = simulator.state.status_of(device_id)
    simulator.start(device_id)
    verb = "restarted" if was == "running" else f"started (was {was})"
    return ToolResult.success(
        device_id=device_id,
        action="restart_device",
        message=f"{_group_text(simulator, device_id)} {verb}",
    )


def stop_device(simulator: PlantSimulator, args: ReasonedDeviceArgs, role: str) -> ToolResult:
    device_id = args.device_id
    wrong_kind = _require_machine(simulator, "stop_device", device_id)
    if wrong_kind:
        return wrong_kind
    was = simulator.state.status_of(device_id)
    simulator.stop(
        device_id, f"stopped by the {role}" + (f": {args.reason}" if args.reason else "")
    )
    message = f"{_group_text(simulator, device_id)} stopped"
    if was != "running":
        message = f"{device_id} was already {was}; now stopped"
    return ToolResult.success(device_id=device_id, action="stop_device", message=message)


def set_valve(simulator: PlantSimulator, args: SetValveArgs, role: str) -> ToolResult:
    device_id = args.device_id
    kind = simulator.layout.devices[device_id].kind
    if kind != "valve":
        return _not_applicable("set_valve", device_id, kind, "set_valve moves valves only")
    refusal = check_valve_move(simulator, device_id, args.open_percent)
    if refusal:
        return _interlocked("set_valve", device_id, refusal)
    device = simulator.state.devices[device_id]
    previous = device.position or 0.0
    device.position = float(args.open_percent)
    return ToolResult.success(
        device_id=device_id,
        action="set_valve",
        message=f"{device_id} moved from {previous:g}% to {args.open_percent:g}% open",
        position_percent=device.position,
        previous_percent=previous,
    )


def isolate_device(simulator: PlantSimulator, args: ReasonedDeviceArgs, role: str) -> ToolResult:
    device_id = args.device_id
    kind = simulator.layout.devices[device_id].kind
    state = simulator.state
    if kind == "valve":
        refusal = check_valve_move(simulator, device_id, 0.0)
        if refusal and refusal.code != "locked_out":
            return _interlocked("isolate_device", device_id, refusal)
        state.devices[device_id].position = 0.0
        state.devices[device_id].isolated = True
        message = f"{device_id} closed and locked out"
    elif kind in MACHINE_KINDS:
        note = f"isolated by the {role}" + (f": {args.reason}" if args.reason else "")
        simulator.stop(device_id, note)
        for member in simulator.physics.coupled(device_id):
            state.devices[member].isolated = True
        message = f"{_group_text(simulator, device_id)} stopped and locked out"
    else:
        return _not_applicable(
            "isolate_device", device_id, kind, "only machines and valves can be isolated"
        )
    return ToolResult.success(device_id=device_id, action="isolate_device", message=message)


def flag_sensor(simulator: PlantSimulator, args: FlagSensorArgs, role: str) -> ToolResult:
    sensor_id = args.sensor_id
    state = simulator.state
    owner = simulator.layout.sensor_owner(sensor_id) or ""
    state.flags[sensor_id] = SensorFlag(
        reason=args.reason or "flagged as faulty", t_s=state.sim_time_s, role=role
    )
    simulator.refresh_alarms()
    return ToolResult.success(
        sensor_id=sensor_id,
        device_id=owner,
        action="flag_sensor",
        flagged=True,
        message=f"{sensor_id} on {owner} flagged as faulty; its alarms are suppressed",
    )


def create_work_order(
    simulator: PlantSimulator, args: CreateWorkOrderArgs, role: str
) -> ToolResult:
    state = simulator.state
    order = WorkOrder(
        id=f"WO-{len(state.work_orders) + 1:04d}",
        device_id=args.device_id,
        description=args.description,
        priority=args.priority or "medium",
        t_s=state.sim_time_s,
        role=role,
    )
    state.work_orders.append(order)
    return ToolResult.success(
        work_order_id=order.id,
        device_id=order.device_id,
        priority=order.priority,
        action="create_work_order",
        message=f"work order {order.id} created for {order.device_id}",
    )


def escalate_to_human(simulator: PlantSimulator, args: EscalateArgs, role: str) -> ToolResult:
    state = simulator.state
    escalation = Escalation(
        id=f"ESC-{len(state.escalations) + 1:03d}",
        summary=args.summary,
        device_id=args.device_id,
        severity=args.severity or "high",
        t_s=state.sim_time_s,
        role=role,
    )
    state.escalations.append(escalation)
    return ToolResult.success(
        escalation_id=escalation.id,
        action="escalate_to_human",
        message="the shift supervisor has been paged and takes over this incident",
    )
