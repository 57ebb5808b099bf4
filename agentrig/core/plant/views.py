"""The read-only tools: what the plant's HMI shows an agent, as JSON objects.

Shapes (every result also carries ``"ok": true`` and ``"sim_time_s"``):

- list_devices: ``{"devices": [{"device_id", "kind", "description", "status", "feeds", "fed_by",
  "driven_by"?, "drives"?, "position_percent"?, "normal_position_percent"? (valves),
  "isolated"? (when true), "sensors": [ids],
  "active_alarms": [text]}]}``
- check_device_status: ``{"device_id", "kind", "description", "status", "isolated",
  "trip_reason"?, "fault_text"?, "note"?, "position_percent"?, "normal_position_percent"?
  (valves), "external_supply"? (tanks), "feeds", "fed_by", "driven_by"?, "drives"?,
  "readings": [{"sensor_id", "quantity", "value", "unit", "normal_range", "alarm_low"?,
  "alarm_high"?, "trip_high"?, "state", "flagged"}], "active_alarms": [text],
  "work_orders": [{"work_order_id", "description"}]}``; ``state`` is one of normal,
  above_normal, below_normal, alarm_high, alarm_low, idle (machine not running).
- read_telemetry: ``{"device_id", "window_minutes", "sensors": [{"sensor_id", "quantity",
  "unit", "flagged", "times_s": [...], "values": [...], "summary": {"first", "last", "min",
  "max", "change_per_minute", "trend"}}]}``; trend is rising, falling, steady or flat.
- get_alarm_history: ``{"device_id", "alarms": [{"t_s", "device_id", "sensor_id"?, "event",
  "message", "value"?}]}`` (the last 50; event is alarm_high, alarm_low, cleared or trip).
- get_maintenance_log: ``{"device_id", "entries": [{"t_s", "device_id", "entry"}]}``.
"""

from __future__ import annotations

import statistics
from typing import Any

from agentrig.core.plant.simulator import PlantSimulator, alarm_text, reading_state

__all__ = [
    "alarm_history",
    "device_status",
    "list_devices",
    "maintenance_log",
    "telemetry",
    "trend_summary",
]

ALARM_HISTORY_LIMIT = 50
DEFAULT_WINDOW_MINUTES = 5


def _connections(simulator: PlantSimulator, device_id: str) -> dict[str, Any]:
    layout = simulator.layout
    spec = layout.devices[device_id]
    found: dict[str, Any] = {"feeds": list(spec.feeds), "fed_by": layout.fed_by(device_id)}
    if spec.driven_by:
        found["driven_by"] = spec.driven_by
    driven = layout.drives(device_id)
    if driven:
        found["drives"] = driven
    return found


def active_alarm_texts(simulator: PlantSimulator, device_id: str) -> list[str]:
    state = simulator.state
    texts = []
    for sensor_id, spec in simulator.layout.devices[device_id].sensors.items():
        alarm = state.active_alarms.get(sensor_id)
        if alarm is None:
            continue
        texts.append(alarm_text(sensor_id, spec, state.readings.get(sensor_id, 0.0), alarm))
    device = state.devices[device_id]
    if device.tripped:
        texts.append(f"{device_id} tripped: {device.trip_reason}")
    return texts


def list_devices(simulator: PlantSimulator) -> dict[str, Any]:
    state = simulator.state
    devices = []
    for device_id, spec in simulator.layout.devices.items():
        entry: dict[str, Any] = {
            "device_id": device_id,
            "kind": spec.kind,
            "description": spec.description,
            "status": state.status_of(device_id),
        }
        if state.devices[device_id].isolated:
            entry["isolated"] = True
        if spec.kind == "valve":
            entry["position_percent"] = state.devices[device_id].position
            entry["normal_position_percent"] = spec.normal_position
        entry.update(_connections(simulator, device_id))
        entry["sensors"] = list(spec.sensors)
        entry["active_alarms"] = active_alarm_texts(simulator, device_id)
        devices.append(entry)
    return {"sim_time_s": state.sim_time_s, "devices": devices}


def device_status(simulator: PlantSimulator, device_id: str) -> dict[str, Any]:
    state = simulator.state
    spec = simulator.layout.devices[device_id]
    device = state.devices[device_id]
    result: dict[str, Any] = {
        "sim_time_s": state.sim_time_s,
        "device_id": device_id,
        "kind": spec.kind,
        "description": spec.description,
        "status": state.status_of(device_id),
        "isolated": device.isolated,
    }
    if device.trip_reason:
        result["trip_reason"] = device.trip_reason
    if device.fault_text:
        result["fault_text"] = device.fault_text
    if device.note:
        result["note"] = device.note
    if spec.kind == "valve":
        result["position_percent"] = device.position
        result["normal_position_percent"] = spec.normal_position
    if spec.kind == "tank" and spec.supply_m3h is not None:
        result["external_supply"] = True
    result.update(_connections(simulator, device_id))
    readings = []
    for sensor_id, sensor in spec.sensors.items():
        value = state.readings.get(sensor_id, 0.0)
        reading: dict[str, Any] = {
            "sensor_id": sensor_id,
            "quantity": sensor.quantity,
            "value": value,
            "unit": sensor.unit,
            "normal_range": list(sensor.normal),
        }
        for limit in ("alarm_low", "alarm_high", "trip_high"):
            if getattr(sensor, limit) is not None:
                reading[limit] = getattr(sensor, limit)
        reading["state"] = reading_state(sensor, value, simulator.sensor_active(sensor_id))
        reading["flagged"] = sensor_id in state.flags
        readings.append(reading)
    result["readings"] = readings
    result["active_alarms"] = active_alarm_texts(simulator, device_id)
    related = {device_id, *spec.sensors}
    result["work_orders"] = [
        {"work_order_id": order.id, "device_id": order.device_id, "description": order.description}
        for order in state.work_orders
        if order.device_id in related
    ]
    return result


def trend_summary(times: list[float], values: list[float]) -> dict[str, Any]:
    """first, last, min, max, change per minute (least squares) and a trend word."""
    if not values:
        return {"trend": "no data"}
    summary: dict[str, Any] = {
        "first": values[0],
        "last": values[-1],
        "min": min(values),
        "max": max(values),
    }
    if len(values) < 3:
        summary["change_per_minute"] = 0.0
        summary["trend"] = "steady"
        return summary
    if max(values) == min(values):
        summary["change_per_minute"] = 0.0
        summary["trend"] = "flat"
        return summary
    slope = statistics.linear_regression(times, values).slope
    fitted = [values[0] + slope * (t - times[0]) for t in times]
    mean_fit = statistics.fmean(fitted)
    offset = statistics.fmean(values) - mean_fit
    residual = statistics.pstdev(v - f - offset for v, f in zip(values, fitted, strict=True))
    change = slope * (times[-1] - times[0])
    scale = max(abs(statistics.fmean(values)), 1.0)
    summary["change_per_minute"] = round(slope * 60.0, 4)
    if abs(change) > max(3 * residual, 0.02 * scale):
        summary["trend"] = "rising" if change > 0 else "falling"
    else:
        summary["trend"] = "steady"
    return summary


def telemetry(
    simulator: PlantSimulator,
    device_id: str,
    sensor_id: str | None,
    window_minutes: int | None,
) -> dict[str, Any]:
    state = simulator.state
    minutes = window_minutes or DEFAULT_WINDOW_MINUTES
    since = state.sim_time_s - minutes * 60
    sensors = []
    for sid, sensor in simulator.layout.devices[device_id].sensors.items():
        if sensor_id is not None and sid != sensor_id:
            continue
        samples = [(t, v) for t, v in state.samples(sid) if t > since]
        times = [t for t, _ in samples]
        values = [v for _, v in samples]
        sensors.append(
            {
                "sensor_id": sid,
                "quantity": sensor.quantity,
                "unit": sensor.unit,
                "flagged": sid in state.flags,
                "times_s": times,
                "values": values,
                "summary": trend_summary(times, values),
            }
        )
    return {
        "sim_time_s": state.sim_time_s,
        "device_id": device_id,
        "window_minutes": minutes,
        "sensors": sensors,
    }


def alarm_history(simulator: PlantSimulator, device_id: str | None) -> dict[str, Any]:
    state = simulator.state
    events = [
        event.model_dump(exclude_none=True)
        for event in state.alarm_log
        if device_id is None or event.device_id == device_id
    ]
    return {
        "sim_time_s": state.sim_time_s,
        "device_id": device_id,
        "alarms": events[-ALARM_HISTORY_LIMIT:],
    }


def maintenance_log(simulator: PlantSimulator, device_id: str | None) -> dict[str, Any]:
    state = simulator.state
    related: set[str] | None = None
    if device_id is not None:
        related = {device_id, *simulator.layout.devices[device_id].sensors}
    entries = [
        entry.model_dump()
        for entry in sorted(state.maintenance_log, key=lambda e: e.t_s)
        if related is None or entry.device_id in related
    ]
    entries += [
        {
            "t_s": order.t_s,
            "device_id": order.device_id,
            "entry": f"Work order {order.id} ({order.priority}): {order.description}",
        }
        for order in state.work_orders
        if related is None or order.device_id in related
    ]
    return {"sim_time_s": state.sim_time_s, "device_id": device_id, "entries": entries}
