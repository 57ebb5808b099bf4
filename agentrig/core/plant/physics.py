"""Simple, deterministic plant physics: enough cause and effect for faults to show where they should.

Not a process simulator -- a toy with the right signs:

- A pump's flow is limited by its discharge path (valve openings, blockages) and its suction
  (upstream valves, the source tank's level). Its pressure follows a pump curve: nominal at full
  flow, shut-off pressure against a closed path. Starved suction (cavitation) drops pressure and
  flow and raises vibration.
- A compressor holds its nominal pressure into an open path and climbs toward shut-off against a
  closed one; its discharge temperature rises when its cooling water falls short.
- Motors draw current with load; winding and frame temperatures follow load and cooling.
- Temperatures lag (first order); tank levels integrate inflow minus outflow.
- When a machine stops against a restricted path, its discharge pressure stays trapped until the
  path opens again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from agentrig.core.plant.faults import FaultEffects
from agentrig.core.plant.layout import LayoutSpec
from agentrig.core.plant.state import PlantState

__all__ = ["VENT_OPENING", "Hydraulics", "MachineFlow", "Physics"]

VENT_OPENING = 0.6
"""A trapped discharge pressure vents once the path is at least this open."""
STATIC_PRESSURE_BAR = 0.3
COMPRESSOR_IDLE_BAR = 0.5

# Thermal time constants in seconds.
_TAU_S = {
    "bearing_temperature": 150.0,
    "winding_temperature": 90.0,
    "frame_temperature": 150.0,
    "discharge_temperature": 90.0,
    "outlet_temperature": 60.0,
    "return_temperature": 60.0,
}


@dataclass
class MachineFlow:
    """A pump's or compressor's operating point at one instant."""

    running: bool
    opening: float  # discharge path, 0..1
    suction: float  # suction availability, 0..1
    flow_fraction: float  # of nominal flow
    pressure: float  # discharge pressure, bar
    cavitation: float  # 0..1


@dataclass
class Hydraulics:
    machines: dict[str, MachineFlow] = field(default_factory=dict)
    valve_flow: dict[str, float] = field(default_factory=dict)  # flow fraction through each valve


class Physics:
    """The physics of one layout; stateless apart from the derived topology."""

    def __init__(self, layout: LayoutSpec) -> None:
        self.layout = layout

    # ------------------------------------------------------------------ topology

    @cached_property
    def flow_machines(self) -> list[str]:
        return [d for d, s in self.layout.devices.items() if s.kind in ("pump", "compressor")]

    @cached_property
    def discharge_valves(self) -> dict[str, list[str]]:
        """machine -> the valves its flow passes through, in order (first branch only)."""
        chains: dict[str, list[str]] = {}
        for machine in self.flow_machines:
            chain: list[str] = []
            current = machine
            while True:
                following = self.layout.devices[current].feeds
                if not following or self.layout.devices[following[0]].kind != "valve":
                    break
                current = following[0]
                if current in chain:
                    break
                chain.append(current)
            chains[machine] = chain
        return chains

    @cached_property
    def discharge_target(self) -> dict[str, str | None]:
        """machine -> the first non-valve device after its discharge valves."""
        targets: dict[str, str | None] = {}
        for machine, chain in self.discharge_valves.items():
            last = chain[-1] if chain else machine
            following = self.layout.devices[last].feeds
            targets[machine] = following[0] if following else None
        return targets

    @cached_property
    def suction_path(self) -> dict[str, tuple[list[str], str | None]]:
        """pump -> (valves upstream of it, the tank it draws from or None)."""
        paths: dict[str, tuple[list[str], str | None]] = {}
        for machine in self.flow_machines:
            valves: list[str] = []
            tank: str | None = None
            current = machine
            while True:
                upstream = self.layout.fed_by(current)
                if not upstream:
                    break
                current = upstream[0]
                kind = self.layout.devices[current].kind
                if kind == "valve" and current not in valves:
                    valves.append(current)
                    continue
                if kind == "tank":
                    tank = current
                break
            paths[machine] = (valves, tank)
        return paths

    @cached_property
    def valve_source(self) -> dict[str, str]:
        """valve -> the machine whose discharge passes through it."""
        return {
            valve: machine for machine, chain in self.discharge_valves.items() for valve in chain
        }

    def machines_through(self, valve_id: str) -> list[str]:
        """Machines whose discharge or suction passes through ``valve_id``."""
        found = [m for m, chain in self.discharge_valves.items() if valve_id in chain]
        found += [m for m, (valves, _) in self.suction_path.items() if valve_id in valves]
        return found

    def pumps_drawing_from(self, tank_id: str) -> list[str]:
        return [m for m, (_, tank) in self.suction_path.items() if tank == tank_id]

    def receiver_source(self, tank_id: str) -> str | None:
        for machine, target in self.discharge_target.items():
            if target == tank_id and self.layout.devices[machine].kind == "compressor":
                return machine
        return None

    def driver(self, device_id: str) -> str | None:
        return self.layout.devices[device_id].driven_by

    def coupled(self, device_id: str) -> list[str]:
        """A machine and the motor driving it, or a motor and the machine it drives."""
        group = [device_id]
        driver = self.driver(device_id)
        if driver:
            group.append(driver)
        driven = self.layout.drives(device_id)
        if driven:
            group.append(driven)
        return group

    # ------------------------------------------------------------------ hydraulics

    def opening(self, state: PlantState, effects: FaultEffects, machine: str) -> float:
        opening = 1.0
        for valve in self.discharge_valves[machine]:
            position = state.devices[valve].position or 0.0
            opening *= (position / 100.0) * (1.0 - effects.blockage.get(valve, 0.0))
        return opening

    def hydraulics(self, state: PlantState, effects: FaultEffects) -> Hydraulics:
        """Every machine's operating point for the current controls and faults."""
        result = Hydraulics()
        for machine in self.flow_machines:
            spec = self.layout.devices[machine]
            device = state.devices[machine]
            opening = self.opening(state, effects, machine)
            valves, tank = self.suction_path[machine]
            suction = 1.0
            for valve in valves:
                suction *= (state.devices[valve].position or 0.0) / 100.0
            if tank is not None:
                level = state.devices[tank].level
                if level is not None:
                    suction *= min(1.0, max(0.0, (level - 5.0) / 10.0))
            running = device.running and not device.tripped
            nominal = spec.nominal_pressure_bar or 0.0
            shutoff = spec.shutoff_pressure_bar or 0.0
            cavitation = 0.0
            if not running:
                flow = 0.0
                idle = COMPRESSOR_IDLE_BAR if spec.kind == "compressor" else STATIC_PRESSURE_BAR
                pressure = device.trapped_pressure if device.trapped_pressure else idle
            elif spec.kind == "compressor":
                flow = opening
                pressure = nominal + (shutoff - nominal) * (1.0 - min(opening, 1.0))
            else:
                flow = min(opening, suction)
                pressure = shutoff - (shutoff - nominal) * min(opening, 1.0) ** 2
                if opening > 0 and suction < opening:
                    cavitation = 1.0 - suction / opening
                    pressure *= 1.0 - 0.8 * cavitation
            result.machines[machine] = MachineFlow(
                running, opening, suction, flow, pressure, cavitation
            )
            for valve in self.discharge_valves[machine]:
                result.valve_flow[valve] = flow
        return result

    # ------------------------------------------------------------------ integration

    def integrate(
        self, state: PlantState, hydraulics: Hydraulics, effects: FaultEffects, dt: float
    ) -> None:
        """Advance lagged temperatures, tank levels and receiver pressures by ``dt`` seconds."""
        targets = self.temperature_targets(state, hydraulics, effects)
        for sensor_id, target in targets.items():
            quantity = self.layout.sensor(sensor_id).quantity
            tau = _TAU_S.get(quantity, 90.0)
            current = state.thermal.get(sensor_id, target)
            state.thermal[sensor_id] = current + (target - current) * (1.0 - math.exp(-dt / tau))
        for tank_id, spec in self.layout.devices.items():
            if spec.kind != "tank":
                continue
            device = state.devices[tank_id]
            if device.level is not None and spec.capacity_m3:
                inflow = self.supply_flow(tank_id, effects)
                inflow += sum(
                    hydraulics.machines[p].flow_fraction
                    * (self.layout.devices[p].nominal_flow_m3h or 0)
                    for p in spec.inflow_from
                    if p in hydraulics.machines
                )
                outflow = sum(
                    hydraulics.machines[p].flow_fraction
                    * (self.layout.devices[p].nominal_flow_m3h or 0)
                    for p in self.pumps_drawing_from(tank_id)
                )
                change = (inflow - outflow) * dt / 3600.0 / spec.capacity_m3 * 100.0
                device.level = min(100.0, max(0.0, device.level + change))
            source = self.receiver_source(tank_id)
            if source is not None and device.pressure is not None:
                flow = hydraulics.machines[source]
                if flow.running and flow.opening >= 0.5:
                    target = flow.pressure - 0.3
                    device.pressure += (target - device.pressure) * 0.6
                else:
                    device.pressure = max(0.0, device.pressure - 0.25)

    def vent(self, state: PlantState, effects: FaultEffects) -> None:
        """Release trapped discharge pressures whose path has opened."""
        for machine in self.flow_machines:
            device = state.devices[machine]
            if device.trapped_pressure and self.opening(state, effects, machine) >= VENT_OPENING:
                device.trapped_pressure = None

    def supply_flow(self, tank_id: str, effects: FaultEffects) -> float:
        supply = self.layout.devices[tank_id].supply_m3h or 0.0
        return supply * (1.0 - effects.supply_lost.get(tank_id, 0.0))

    def temperature_targets(
        self, state: PlantState, hydraulics: Hydraulics, effects: FaultEffects
    ) -> dict[str, float]:
        """Where every lagged temperature is heading."""
        ambient = self.layout.ambient_c
        targets: dict[str, float] = {}
        for device_id, spec in self.layout.devices.items():
            sensor = spec.sensor_for
            if spec.kind == "pump":
                flow = hydraulics.machines[device_id]
                wear = effects.bearing_wear.get(device_id, 0.0)
                bearing = 45 + 45 * wear + 8 * flow.cavitation if flow.running else ambient
                _put(targets, sensor("bearing_temperature"), bearing)
            elif spec.kind == "motor":
                load = self.motor_load(device_id, hydraulics)
                running = load is not None
                heat = effects.overheating.get(device_id, 0.0)
                relative = (0.45 + 0.55 * load) if load is not None else 0.0
                winding = 55 + 35 * relative**2 + 90 * heat if running else ambient
                frame = 40 + 15 * relative**2 + 45 * heat if running else ambient
                _put(targets, sensor("winding_temperature"), winding)
                _put(targets, sensor("frame_temperature"), frame)
            elif spec.kind == "compressor":
                flow = hydraulics.machines[device_id]
                cooling = self.cooling_fraction(spec.cooling_inlet, hydraulics)
                hot = 85 + 32 * (1 - min(1.0, cooling)) + 10 * (1 - min(1.0, flow.opening))
                _put(targets, sensor("discharge_temperature"), hot if flow.running else ambient)
            elif spec.kind == "heat_exchanger":
                process = hydraulics.valve_flow.get(spec.process_inlet or "", 0.0)
                cooling = self.cooling_fraction(spec.cooling_inlet, hydraulics)
                outlet = 70 - 32 * min(1.0, cooling / process) if process > 0.05 else ambient + 5
                if cooling > 0.05:
                    back = 20 + 15 * min(process / cooling, 3.5)
                else:
                    back = 70.0 if process > 0.05 else ambient
                _put(targets, sensor("outlet_temperature"), outlet)
                _put(targets, sensor("return_temperature"), back)
        return targets

    def cooling_fraction(self, valve_id: str | None, hydraulics: Hydraulics) -> float:
        if valve_id is None:
            return 1.0
        return hydraulics.valve_flow.get(valve_id, 0.0)

    def motor_load(self, motor_id: str, hydraulics: Hydraulics) -> float | None:
        """The driven machine's flow fraction, or None when the motor is not turning."""
        driven = self.layout.drives(motor_id)
        if driven is None or driven not in hydraulics.machines:
            return None
        flow = hydraulics.machines[driven]
        return flow.flow_fraction if flow.running else None

    # ------------------------------------------------------------------ sensor values

    def true_values(
        self, state: PlantState, hydraulics: Hydraulics, effects: FaultEffects
    ) -> dict[str, float]:
        """What every sensor would read if it were perfect and noiseless."""
        values: dict[str, float] = dict(state.thermal)
        for device_id, spec in self.layout.devices.items():
            sensor = spec.sensor_for
            if spec.kind in ("pump", "compressor"):
                flow = hydraulics.machines[device_id]
                wear = effects.bearing_wear.get(device_id, 0.0)
                base = 2.5 if spec.kind == "compressor" else 1.8
                vibration = base + 9 * wear + 5 * flow.cavitation if flow.running else 0.1
                _put(values, sensor("discharge_pressure"), flow.pressure)
                _put(values, sensor("flow"), flow.flow_fraction * (spec.nominal_flow_m3h or 0.0))
                _put(values, sensor("vibration"), vibration)
            elif spec.kind == "motor":
                load = self.motor_load(device_id, hydraulics)
                current = (
                    (spec.nominal_current_a or 0.0) * (0.45 + 0.55 * load)
                    if load is not None
                    else 0.0
                )
                _put(values, sensor("current"), current)
            elif spec.kind == "valve":
                flow_fraction = hydraulics.valve_flow.get(device_id, 0.0)
                downstream = (spec.downstream_nominal_bar or 0.0) * flow_fraction**2
                _put(values, sensor("downstream_pressure"), downstream + STATIC_PRESSURE_BAR)
            elif spec.kind == "tank":
                device = state.devices[device_id]
                if device.level is not None:
                    _put(values, sensor("level"), device.level)
                if device.pressure is not None:
                    _put(values, sensor("receiver_pressure"), device.pressure)
                _put(values, sensor("supply_flow"), self.supply_flow(device_id, effects))
        return values


def _put(target: dict[str, float], sensor_id: str | None, value: float) -> None:
    if sensor_id is not None:
        target[sensor_id] = value
