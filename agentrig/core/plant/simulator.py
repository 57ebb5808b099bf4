"""The plant simulator: creates a run's plant, advances it one tick per tool call, trips machines.

:class:`PlantSimulator` wraps a :class:`PlantState` (the stored document) and mutates it in place;
it holds no other state, so loading the document in another process continues the same plant.

Determinism: a reading is physics plus noise drawn from a generator seeded with
``(seed, tick, sensor id)`` -- no hidden random state -- so the same seed and the same calls give
the same readings, whatever process or backend runs them.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from agentrig.core.plant.faults import Fault, FaultEffects, fault_effects
from agentrig.core.plant.layout import (
    MACHINE_KINDS,
    RUNNING_QUANTITIES,
    LayoutSpec,
    LogEntry,
    SensorSpec,
)
from agentrig.core.plant.physics import VENT_OPENING, Physics
from agentrig.core.plant.scenarios import Scenario
from agentrig.core.plant.state import (
    Alarm,
    AlarmEvent,
    DeviceState,
    PlantState,
)

__all__ = ["TRIP_REASONS", "PlantSimulator", "reading_state"]

TRIP_REASONS: dict[str, str] = {
    "discharge_pressure": "high_discharge_pressure",
    "vibration": "high_vibration",
    "winding_temperature": "motor_overtemperature",
    "discharge_temperature": "high_discharge_temperature",
}
"""Which quantity beyond its trip limit trips a machine, and the trip reason it reports."""

BREAKER_TRIP_TEXT = (
    "Motor protection relay: breaker tripped on overcurrent (single transient event). "
    "Insulation monitor: normal. The breaker may be reset by restarting the motor."
)
GROUND_FAULT_TEXT = (
    "Motor protection relay: GROUND FAULT on phase B, insulation resistance 0.2 MOhm "
    "(minimum 1 MOhm). Do not re-energise: an electrician must test and repair the motor."
)


def reading_state(spec: SensorSpec, value: float, active: bool) -> str:
    """Where a reading sits: normal, above_normal, below_normal, alarm_high, alarm_low or idle.

    ``active`` is False when the sensor's machine stands still; flow, vibration, current and
    pressures then read "idle" -- except a trapped discharge pressure above the alarm limit --
    and nothing reads below normal.
    """
    if not active and spec.quantity in RUNNING_QUANTITIES:
        if (
            spec.quantity == "discharge_pressure"
            and spec.alarm_high is not None
            and value > spec.alarm_high
        ):
            return "alarm_high"
        return "idle"
    if spec.alarm_high is not None and value > spec.alarm_high:
        return "alarm_high"
    if spec.alarm_low is not None and value < spec.alarm_low and active:
        return "alarm_low"
    low, high = spec.normal
    if value > high:
        return "above_normal"
    if value < low and active:
        # A stopped machine cooling toward ambient is not "below normal".
        return "below_normal"
    return "normal"


class PlantSimulator:
    """Simulation operations on one plant document."""

    def __init__(self, state: PlantState) -> None:
        self.state = state
        self.layout: LayoutSpec = state.layout
        self.physics = Physics(state.layout)

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(
        cls,
        *,
        run_id: str,
        scenario_id: str,
        layout: LayoutSpec,
        seed: int,
        faults: Iterable[Fault] = (),
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        alarm_device: str,
        alarm_message: str,
        warmup_ticks: int = 10,
        maintenance_log: Iterable[LogEntry] = (),
        scenario_json: str = "",
    ) -> PlantSimulator:
        """A new plant: the layout at rest, overrides applied, faults injected, warmed up.

        ``alarm_message`` may name sensors in braces (``{pt-07}``); they are replaced by the
        readings at the end of the warm-up, when the alarm is raised.
        """
        devices: dict[str, DeviceState] = {}
        for device_id, spec in layout.devices.items():
            device = DeviceState()
            if spec.kind in MACHINE_KINDS:
                device.running = spec.running
            elif spec.kind == "valve":
                device.position = spec.normal_position
            elif spec.kind == "tank":
                device.level = spec.initial_level
                if spec.sensor_for("receiver_pressure"):
                    device.pressure = None  # set below, once the compressor's pressure is known
            devices[device_id] = device
        for device_id, changes in (overrides or {}).items():
            devices[device_id] = devices[device_id].model_copy(update=dict(changes))
        state = PlantState(
            run_id=run_id,
            scenario_id=scenario_id,
            scenario_json=scenario_json,
            seed=seed,
            layout_json=layout.model_dump_json(),
            alarm=Alarm(device=alarm_device, message=alarm_message),
            devices=devices,
            faults=list(faults),
            maintenance_log=[*layout.maintenance_log, *maintenance_log],
        )
        simulator = cls(state)
        simulator._settle_initial_conditions()
        simulator._activate_faults()
        simulator._sample(simulator._evaluate())
        for _ in range(warmup_ticks):
            simulator.advance()
        state.alarm_tick = state.tick
        state.alarm = Alarm(device=alarm_device, message=simulator.fill_readings(alarm_message))
        return simulator

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, *, run_id: str, seed: int | None = None
    ) -> PlantSimulator:
        """The plant ``scenario`` describes, for ``run_id``; ``seed`` overrides the scenario's."""
        return cls.create(
            run_id=run_id,
            scenario_id=scenario.id,
            layout=scenario.load_layout(),
            seed=scenario.seed if seed is None else seed,
            faults=scenario.faults,
            overrides={device: o.changes() for device, o in scenario.overrides.items()},
            alarm_device=scenario.alarm.device,
            alarm_message=scenario.alarm.message,
            warmup_ticks=scenario.warmup_ticks,
            maintenance_log=scenario.maintenance_log,
            scenario_json=scenario.model_dump_json(),
        )

    def _settle_initial_conditions(self) -> None:
        """Start every lagged temperature and receiver at its fault-free steady state."""
        effects = FaultEffects()
        hydraulics = self.physics.hydraulics(self.state, effects)
        self.state.thermal = self.physics.temperature_targets(self.state, hydraulics, effects)
        for tank_id, spec in self.layout.devices.items():
            source = self.physics.receiver_source(tank_id)
            if spec.kind == "tank" and source is not None:
                self.state.devices[tank_id].pressure = hydraulics.machines[source].pressure - 0.3

    def fill_readings(self, template: str) -> str:
        """Replace ``{sensor-id}`` in ``template`` with that sensor's current reading."""

        def reading(match: re.Match[str]) -> str:
            value = self.state.readings.get(match.group(1))
            return match.group(0) if value is None else f"{value:g}"

        return re.sub(r"\{([a-z]+-\d+)\}", reading, template)

    # ------------------------------------------------------------------ time

    def effects(self) -> FaultEffects:
        return fault_effects(self.state.faults, self.state.tick)

    def advance(self) -> None:
        """One tick: faults grow, physics integrates, machines trip, sensors are sampled."""
        self.state.tick += 1
        self._activate_faults()
        effects = self.effects()
        self.physics.vent(self.state, effects)
        hydraulics = self.physics.hydraulics(self.state, effects)
        self.physics.integrate(self.state, hydraulics, effects, float(self.layout.tick_seconds))
        values = self.physics.true_values(self.state, hydraulics, effects)
        if self._trip_machines(values):
            values = self._evaluate()
        self._sample(values)

    def _evaluate(self) -> dict[str, float]:
        effects = self.effects()
        hydraulics = self.physics.hydraulics(self.state, effects)
        return self.physics.true_values(self.state, hydraulics, effects)

    def _activate_faults(self) -> None:
        for fault in self.state.faults:
            if fault.start_tick != self.state.tick:
                continue
            if fault.kind == "tripped_breaker":
                self.trip(fault.target, "breaker_trip", BREAKER_TRIP_TEXT)
            elif fault.kind == "ground_fault":
                self.trip(fault.target, "ground_fault", GROUND_FAULT_TEXT)
            elif fault.kind == "closed_valve":
                self.state.devices[fault.target].position = fault.value or 0.0

    def _trip_machines(self, values: Mapping[str, float]) -> bool:
        tripped = False
        for device_id, spec in self.layout.devices.items():
            device = self.state.devices[device_id]
            if spec.kind not in MACHINE_KINDS or not device.running or device.tripped:
                continue
            for sensor_id, sensor in spec.sensors.items():
                value = values.get(sensor_id)
                if sensor.trip_high is None or value is None or value <= sensor.trip_high:
                    continue
                reason = TRIP_REASONS.get(sensor.quantity, f"high_{sensor.quantity}")
                text = (
                    f"Tripped on {sensor.quantity.replace('_', ' ')}: {sensor_id} read "
                    f"{value:.2f} {sensor.unit}, above the trip limit of {sensor.trip_high:g} "
                    f"{sensor.unit}."
                )
                self.trip(device_id, reason, text, values)
                tripped = True
                break
        return tripped

    # ------------------------------------------------------------------ machine control

    def trip(
        self,
        device_id: str,
        reason: str,
        text: str,
        values: Mapping[str, float] | None = None,
    ) -> None:
        """Trip a machine: it and its coupled machine stop; the trip is logged."""
        device = self.state.devices[device_id]
        device.tripped = True
        device.trip_reason = reason
        device.fault_text = text
        device.trips += 1
        self._halt(device_id, f"stopped: {device_id} tripped ({reason})", values)
        self.state.alarm_log.append(
            AlarmEvent(
                t_s=self.state.sim_time_s,
                device_id=device_id,
                event="trip",
                message=f"{device_id} tripped: {reason}",
            )
        )

    def stop(self, device_id: str, note: str) -> None:
        """Stop a machine and its coupled machine (a pump and its motor stop together)."""
        self._halt(device_id, note, None)
        for member in self.physics.coupled(device_id):
            device = self.state.devices[member]
            device.note = note
            if device.tripped:
                # A stop acknowledges the trip; the reason stays visible until a restart.
                device.tripped = False

    def start(self, device_id: str) -> None:
        """Start a machine and its coupled machine, resetting trips. Interlocks come first."""
        for member in self.physics.coupled(device_id):
            device = self.state.devices[member]
            device.running = True
            device.tripped = False
            device.trip_reason = None
            device.fault_text = None
            device.note = None

    def _halt(self, device_id: str, note: str, values: Mapping[str, float] | None) -> None:
        values = values if values is not None else self.state.true_values
        effects = self.effects()
        for member in self.physics.coupled(device_id):
            device = self.state.devices[member]
            if member != device_id:
                device.note = note
            if member in self.physics.flow_machines and device.running:
                opening = self.physics.opening(self.state, effects, member)
                pressure_sensor = self.layout.devices[member].sensor_for("discharge_pressure")
                if opening < VENT_OPENING and pressure_sensor:
                    device.trapped_pressure = values.get(pressure_sensor)
            device.running = False

    # ------------------------------------------------------------------ sensors

    def sensor_active(self, sensor_id: str) -> bool:
        """Whether the machine a sensor's reading depends on is running."""
        owner = self.layout.sensor_owner(sensor_id)
        if owner is None:
            return False
        kind = self.layout.devices[owner].kind
        if kind in MACHINE_KINDS:
            return self.state.devices[owner].running
        if kind == "valve":
            source = self.physics.valve_source.get(owner)
            return source is None or self.state.devices[source].running
        return True

    def _noise(self, sensor_id: str, sigma: float) -> float:
        return sigma * seeded_gauss(f"{self.state.seed}:{self.state.tick}:{sensor_id}")

    def _sample(self, values: Mapping[str, float]) -> None:
        """Record every sensor's reading at the current tick and update the alarm log."""
        state = self.state
        effects = self.effects()
        state.true_values = {k: round(v, 4) for k, v in values.items()}
        for sensor_id, (device_id, spec) in self.layout.all_sensors().items():
            true_value = values.get(sensor_id, 0.0)
            if sensor_id in effects.stuck:
                reading = effects.stuck[sensor_id]
            else:
                reading = true_value + self._noise(sensor_id, spec.noise_sigma())
                reading += effects.drift.get(sensor_id, 0.0)
                if "temperature" not in spec.quantity:
                    reading = max(0.0, reading)
            reading = round(reading, 2)
            state.readings[sensor_id] = reading
            state.record_sample(sensor_id, reading)
            self._update_alarm(sensor_id, device_id, spec, reading)

    def _update_alarm(self, sensor_id: str, device_id: str, spec: SensorSpec, value: float) -> None:
        state = self.state
        current = reading_state(spec, value, self.sensor_active(sensor_id))
        alarm = current if current in ("alarm_high", "alarm_low") else None
        if sensor_id in state.flags:
            alarm = None
        previous = state.active_alarms.get(sensor_id)
        if alarm == previous:
            return
        if alarm is None:
            del state.active_alarms[sensor_id]
            message = f"{sensor_id} back within limits ({value:g} {spec.unit})"
            if sensor_id in state.flags:
                message = f"{sensor_id} alarm suppressed: sensor flagged as faulty"
            state.alarm_log.append(
                AlarmEvent(
                    t_s=state.sim_time_s,
                    device_id=device_id,
                    sensor_id=sensor_id,
                    event="cleared",
                    message=message,
                    value=value,
                )
            )
            return
        state.active_alarms[sensor_id] = alarm
        state.alarm_log.append(
            AlarmEvent(
                t_s=state.sim_time_s,
                device_id=device_id,
                sensor_id=sensor_id,
                event=alarm,
                message=alarm_text(sensor_id, spec, value, alarm),
                value=value,
            )
        )

    def refresh_alarms(self) -> None:
        """Re-evaluate alarms on the current readings (after a flag changed what is suppressed)."""
        for sensor_id, (device_id, spec) in self.layout.all_sensors().items():
            value = self.state.readings.get(sensor_id)
            if value is not None:
                self._update_alarm(sensor_id, device_id, spec, value)


def seeded_gauss(material: str) -> float:
    """A standard normal deviate that is a pure function of ``material`` (Box-Muller on a hash).

    Stateless and the same in every process, unlike ``random``'s global or per-instance state.
    """
    digest = hashlib.blake2b(material.encode("utf-8"), digest_size=16).digest()
    first = (int.from_bytes(digest[:8], "big") + 1) / 2.0**64  # in (0, 1]
    second = int.from_bytes(digest[8:], "big") / 2.0**64
    return math.sqrt(-2.0 * math.log(first)) * math.cos(2.0 * math.pi * second)


def alarm_text(sensor_id: str, spec: SensorSpec, value: float, alarm: str) -> str:
    """``"pt-07 discharge pressure 9.81 bar, above the alarm limit of 9 bar"``."""
    quantity = spec.quantity.replace("_", " ")
    if alarm == "alarm_high":
        return f"{sensor_id} {quantity} {value:g} {spec.unit}, above the alarm limit of {spec.alarm_high:g} {spec.unit}"
    return f"{sensor_id} {quantity} {value:g} {spec.unit}, below the alarm limit of {spec.alarm_low:g} {spec.unit}"
