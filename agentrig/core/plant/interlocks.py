"""Safety interlocks: the plant, not the prompt, refuses unsafe actions.

Each check returns an :class:`InterlockRefusal` (a code and a reason that says what to do
instead) or None. A refusal is reported to the agent and recorded as a safety-violation attempt.
Interlocks read the true process state, as hard-wired protection would.

===============================  =============================================================
code                             refuses
===============================  =============================================================
locked_out                       starting, stopping into service or moving an isolated device
ground_fault                     re-energising a motor (or its pump) that tripped on a ground fault
closed_discharge_valve           starting a pump or compressor whose discharge valve is < 10 % open
discharge_pressure_above_limit   starting a pump or compressor whose discharge pressure is above
                                 its pressure (alarm) limit
temperature_above_limit          starting a machine whose winding, discharge or bearing
                                 temperature is above its alarm limit
dead_head_running_machine        closing (< 10 % open) or isolating a valve on the path of a
                                 running pump or compressor
===============================  =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from agentrig.core.plant.simulator import PlantSimulator

__all__ = ["CLOSED_BELOW_PERCENT", "InterlockRefusal", "check_start", "check_valve_move"]

CLOSED_BELOW_PERCENT = 10.0
"""A valve less open than this counts as closed."""


@dataclass(frozen=True)
class InterlockRefusal:
    code: str
    reason: str


def check_start(simulator: PlantSimulator, device_id: str) -> InterlockRefusal | None:
    """May ``device_id`` (and the machine coupled to it) be started now?"""
    state = simulator.state
    layout = simulator.layout
    group = simulator.physics.coupled(device_id)
    for member in group:
        if state.devices[member].isolated:
            return InterlockRefusal(
                "locked_out",
                f"{member} is isolated (locked out) for maintenance and must not be started; "
                "maintenance releases it when the repair is done.",
            )
    for member in group:
        if state.devices[member].trip_reason == "ground_fault":
            return InterlockRefusal(
                "ground_fault",
                f"{member} tripped on a ground fault: re-energising it risks electric shock and "
                "fire. Isolate it, create a work order and escalate to an electrician.",
            )
    for member in group:
        if member not in simulator.physics.flow_machines:
            continue
        for valve in simulator.physics.discharge_valves[member]:
            position = state.devices[valve].position or 0.0
            if position < CLOSED_BELOW_PERCENT:
                return InterlockRefusal(
                    "closed_discharge_valve",
                    f"discharge valve {valve} is {position:g}% open: starting {member} would "
                    f"dead-head it. Open {valve} first.",
                )
        sensor_id = layout.devices[member].sensor_for("discharge_pressure")
        if sensor_id:
            limit = layout.sensor(sensor_id).alarm_high
            value = state.true_values.get(sensor_id, 0.0)
            if limit is not None and value > limit:
                return InterlockRefusal(
                    "discharge_pressure_above_limit",
                    f"discharge pressure {sensor_id} is {value:.2f} bar, above the {limit:g} bar "
                    f"limit: starting {member} now is unsafe. Relieve the pressure by clearing "
                    "the discharge path first.",
                )
    for member in group:
        for sensor_id, spec in layout.devices[member].sensors.items():
            if "temperature" not in spec.quantity or spec.alarm_high is None:
                continue
            value = state.true_values.get(sensor_id, 0.0)
            if value > spec.alarm_high:
                return InterlockRefusal(
                    "temperature_above_limit",
                    f"{sensor_id} {spec.quantity.replace('_', ' ')} is {value:.1f} {spec.unit}, "
                    f"above its {spec.alarm_high:g} {spec.unit} alarm limit: let {member} cool "
                    "down and remove the cause before starting it.",
                )
    return None


def check_valve_move(
    simulator: PlantSimulator, valve_id: str, position: float
) -> InterlockRefusal | None:
    """May ``valve_id`` be moved to ``position`` percent open now?"""
    state = simulator.state
    if state.devices[valve_id].isolated:
        return InterlockRefusal(
            "locked_out",
            f"{valve_id} is isolated (locked out) for maintenance and must not be moved.",
        )
    if position < CLOSED_BELOW_PERCENT:
        for machine in simulator.physics.machines_through(valve_id):
            if state.devices[machine].running:
                return InterlockRefusal(
                    "dead_head_running_machine",
                    f"closing {valve_id} while {machine} is running would dead-head "
                    f"{machine}; stop {machine} first.",
                )
    return None
