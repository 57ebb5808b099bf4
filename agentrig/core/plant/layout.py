"""The plant layout: devices, their sensors, limits and connections, loaded from YAML.

A layout is static data. Devices are keyed by ids such as ``pump-07``; ``feeds`` says where a
device's flow goes (``fed_by`` is derived), ``driven_by`` which motor turns a pump. Each sensor
(``pt-07``) measures one quantity of its device and carries its normal band and alarm and trip
limits. Kind-specific parameters (a pump's curve, a tank's capacity) drive the physics.

The default plant lives in ``layouts/default.yaml``; :func:`load_layout` loads it or any file.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentrig.core.plant.errors import scenario_error_from_validation
from agentrig.exceptions import ScenarioError

__all__ = [
    "DEVICE_ID_PATTERN",
    "SENSOR_ID_PATTERN",
    "DeviceKind",
    "DeviceSpec",
    "LayoutSpec",
    "LogEntry",
    "Quantity",
    "SensorSpec",
    "layouts_dir",
    "load_layout",
]

DEVICE_ID_PATTERN = r"^[a-z][a-z]*-\d{2,}$"
"""Device and sensor ids: lower-case letters, a dash, two or more digits (pump-07, pt-07)."""
SENSOR_ID_PATTERN = DEVICE_ID_PATTERN

DeviceKind = Literal["pump", "motor", "valve", "tank", "compressor", "heat_exchanger"]
MACHINE_KINDS: frozenset[str] = frozenset({"pump", "motor", "compressor"})
"""Kinds that run, stop and trip."""

Quantity = Literal[
    "discharge_pressure",
    "downstream_pressure",
    "receiver_pressure",
    "flow",
    "supply_flow",
    "vibration",
    "bearing_temperature",
    "winding_temperature",
    "frame_temperature",
    "discharge_temperature",
    "outlet_temperature",
    "return_temperature",
    "current",
    "level",
]

# Quantities that mean nothing while their machine stands still: reported as "idle".
RUNNING_QUANTITIES: frozenset[str] = frozenset(
    {"discharge_pressure", "downstream_pressure", "flow", "vibration", "current"}
)

_DEFAULT_NOISE: dict[str, float] = {
    "pressure": 0.04,
    "flow": 0.6,
    "vibration": 0.08,
    "temperature": 0.3,
    "current": 0.3,
    "level": 0.15,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SensorSpec(_Strict):
    """One sensor: what it measures and its limits."""

    quantity: Quantity
    unit: str = Field(min_length=1)
    description: str = ""
    normal: tuple[float, float] = Field(description="the normal operating band [low, high]")
    alarm_low: float | None = None
    alarm_high: float | None = None
    trip_high: float | None = Field(
        default=None, description="the device trips when the true value exceeds this"
    )
    noise: float | None = Field(default=None, ge=0, description="standard deviation of noise")

    @model_validator(mode="after")
    def _check_band(self) -> Self:
        low, high = self.normal
        if low > high:
            raise ValueError(f"normal band [{low}, {high}] must be [low, high] with low <= high")
        if self.alarm_high is not None and self.alarm_high < high:
            raise ValueError(f"alarm_high {self.alarm_high} must not be inside the normal band")
        if self.alarm_low is not None and self.alarm_low > low:
            raise ValueError(f"alarm_low {self.alarm_low} must not be inside the normal band")
        return self

    def noise_sigma(self) -> float:
        """The noise standard deviation: the layout's, or a default by kind of quantity."""
        if self.noise is not None:
            return self.noise
        for word, sigma in _DEFAULT_NOISE.items():
            if word in self.quantity:
                return sigma
        return 0.1


class DeviceSpec(_Strict):
    """One device. Parameters beyond the common ones apply to the kinds named in their docs."""

    kind: DeviceKind
    description: str = ""
    feeds: list[str] = Field(default_factory=list)
    driven_by: str | None = Field(default=None, description="pump: the motor that drives it")
    sensors: dict[str, SensorSpec] = Field(default_factory=dict)
    running: bool = Field(default=True, description="machines: running at the start")
    # pumps and compressors
    nominal_flow_m3h: float | None = None
    nominal_pressure_bar: float | None = None
    shutoff_pressure_bar: float | None = None
    cooling_inlet: str | None = Field(
        default=None,
        description="compressor, heat exchanger: the valve its cooling water comes in by",
    )
    # motors
    nominal_current_a: float | None = None
    # valves
    normal_position: float | None = Field(default=None, ge=0, le=100)
    downstream_nominal_bar: float | None = None
    # tanks
    capacity_m3: float | None = Field(default=None, gt=0)
    initial_level: float | None = Field(default=None, ge=0, le=100)
    supply_m3h: float | None = Field(default=None, ge=0, description="external inflow")
    inflow_from: list[str] = Field(default_factory=list, description="pumps that fill this tank")
    # heat exchangers
    process_inlet: str | None = None

    @model_validator(mode="after")
    def _check_kind_parameters(self) -> Self:
        required: dict[str, tuple[str, ...]] = {
            "pump": ("nominal_flow_m3h", "nominal_pressure_bar", "shutoff_pressure_bar"),
            "compressor": ("nominal_pressure_bar", "shutoff_pressure_bar"),
            "motor": ("nominal_current_a",),
            "valve": ("normal_position",),
            "heat_exchanger": ("process_inlet", "cooling_inlet"),
        }
        missing = [name for name in required.get(self.kind, ()) if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} needs {', '.join(missing)}")
        if self.kind == "tank" and self.initial_level is None and not self._has("receiver"):
            raise ValueError("a tank needs initial_level (or a receiver_pressure sensor)")
        return self

    def _has(self, word: str) -> bool:
        return any(word in sensor.quantity for sensor in self.sensors.values())

    def sensor_for(self, quantity: str) -> str | None:
        """The id of this device's first sensor measuring ``quantity``, if any."""
        for sensor_id, sensor in self.sensors.items():
            if sensor.quantity == quantity:
                return sensor_id
        return None


class LogEntry(_Strict):
    """A maintenance-log line: when (seconds relative to the plant's start), which device, what."""

    t_s: float = Field(description="seconds since the start of the simulation; negative = before")
    device_id: str
    entry: str = Field(min_length=1)


class LayoutSpec(_Strict):
    """A whole plant."""

    name: str = Field(min_length=1)
    description: str = ""
    tick_seconds: int = Field(default=30, gt=0, description="simulated seconds per tool call")
    ambient_c: float = 25.0
    devices: dict[str, DeviceSpec] = Field(min_length=1)
    maintenance_log: list[LogEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_ids_and_connections(self) -> Self:
        seen_sensors: dict[str, str] = {}
        for device_id, device in self.devices.items():
            if not re.match(DEVICE_ID_PATTERN, device_id):
                raise ValueError(
                    f"device id {device_id!r} must look like pump-07: lower-case letters, a dash, "
                    "two or more digits (agents find device ids in text by that shape)"
                )
            for sensor_id in device.sensors:
                if not re.match(SENSOR_ID_PATTERN, sensor_id):
                    raise ValueError(f"sensor id {sensor_id!r} of {device_id} must look like pt-07")
                if sensor_id in self.devices or sensor_id in seen_sensors:
                    raise ValueError(f"sensor id {sensor_id!r} is used twice")
                seen_sensors[sensor_id] = device_id
            references = [
                *device.feeds,
                *device.inflow_from,
                *[
                    ref
                    for ref in (device.driven_by, device.cooling_inlet, device.process_inlet)
                    if ref
                ],
            ]
            for ref in references:
                if ref not in self.devices:
                    raise ValueError(f"{device_id} refers to {ref!r}, which is not a device")
            if device.driven_by and self.devices[device.driven_by].kind != "motor":
                raise ValueError(f"{device_id} is driven_by {device.driven_by}, which is no motor")
        for entry in self.maintenance_log:
            if entry.device_id not in self.devices and entry.device_id not in seen_sensors:
                raise ValueError(f"maintenance_log names {entry.device_id!r}, not in the layout")
        return self

    # --------------------------------------------------------------- derived structure
    # Cached: the simulator asks these thousands of times per tick and a layout never changes.

    @cached_property
    def _fed_by(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {device_id: [] for device_id in self.devices}
        for other, spec in self.devices.items():
            for target in spec.feeds:
                found[target].append(other)
        return found

    @cached_property
    def _drives(self) -> dict[str, str]:
        return {spec.driven_by: other for other, spec in self.devices.items() if spec.driven_by}

    @cached_property
    def _sensors(self) -> dict[str, tuple[str, SensorSpec]]:
        return {
            sensor_id: (device_id, spec)
            for device_id, device in self.devices.items()
            for sensor_id, spec in device.sensors.items()
        }

    def fed_by(self, device_id: str) -> list[str]:
        """Devices whose ``feeds`` include ``device_id``, in layout order."""
        return list(self._fed_by.get(device_id, []))

    def drives(self, motor_id: str) -> str | None:
        """The device a motor drives, if any."""
        return self._drives.get(motor_id)

    def sensor_owner(self, sensor_id: str) -> str | None:
        """The device a sensor belongs to."""
        found = self._sensors.get(sensor_id)
        return found[0] if found else None

    def sensor(self, sensor_id: str) -> SensorSpec:
        """The spec of a sensor (KeyError when unknown)."""
        return self._sensors[sensor_id][1]

    def all_sensors(self) -> dict[str, tuple[str, SensorSpec]]:
        """Every sensor id -> (device id, spec), in layout order."""
        return self._sensors


def layouts_dir() -> Path:
    """The folder of the built-in layouts."""
    return Path(str(resources.files("agentrig.core.plant") / "layouts"))


def load_layout(name_or_path: str | Path = "default") -> LayoutSpec:
    """Load a layout by name (a file in ``agentrig/core/plant/layouts/``) or by path.

    Raises:
        ScenarioError: the file is missing, not YAML, or does not validate; the error names the
            file, the field and what was expected.
    """
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = layouts_dir() / f"{name_or_path}.yaml"
    data = _read_yaml(path)
    try:
        return LayoutSpec.model_validate(data)
    except ValidationError as error:
        raise scenario_error_from_validation(str(path), error) from error


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        known = sorted(p.stem for p in layouts_dir().glob("*.yaml"))
        raise ScenarioError(
            str(path), "", f"an existing layout file (built-in: {', '.join(known)})"
        )
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(str(path), "", f"valid YAML ({error})") from error
