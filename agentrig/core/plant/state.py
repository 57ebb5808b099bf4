"""The plant document: everything about one run's plant, stored as one JSON object.

One document per run lives in the StateStore under :func:`plant_key` and is written with
compare-and-set. With the run's ledger entries (each under its own key, see
:mod:`agentrig.core.plant.ledger`) it is self-contained -- the layout, the injected faults, the
simulation's dynamic state, sensor history, alarms, work orders, escalations, the ledger's length
and its newest entry -- so a new process can resume a run, or grade it, from the store alone. The
ledger is not in the document: a tool call reads and writes a document whose size does not grow
with the number of calls before it.

The document is kept compact in JSON *nodes*, not only bytes: state stores check every node
before writing, so the layout and the ledger tail's result are stored as JSON text (one node each) and
sensor history as plain value lists whose timestamps follow from the tick.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.plant.faults import Fault
from agentrig.core.plant.layout import MACHINE_KINDS, LayoutSpec, LogEntry
from agentrig.core.state.base import JsonObject, StateStore, store_location
from agentrig.exceptions import CorruptStateError

__all__ = [
    "HISTORY_SAMPLES",
    "SCHEMA_VERSION",
    "Alarm",
    "AlarmEvent",
    "DeviceState",
    "Escalation",
    "LedgerEntry",
    "LedgerOutcome",
    "PlantState",
    "SensorFlag",
    "WorkOrder",
    "plant_key",
    "plant_state_from_document",
]

SCHEMA_VERSION: Literal[2] = 2
"""2: the ledger left the document (schema 1 held every entry in ``ledger``)."""
HISTORY_SAMPLES = 40
"""Samples kept per sensor: 40 ticks of 30 s is 20 minutes of telemetry."""

LedgerOutcome = Literal["read", "applied", "refused", "rejected"]
"""read: a read-only tool answered; applied: an action changed the plant; refused: an interlock
or a precondition said no; rejected: the call never reached the plant (role, unknown tool or
device, invalid arguments)."""


def plant_key(run_id: str) -> str:
    """The StateStore key of a run's plant document."""
    return f"runs/{run_id}/plant"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceState(_Model):
    """The dynamic state of one device. Fields not meaningful for a kind stay at their default."""

    running: bool = False
    tripped: bool = False
    trip_reason: str | None = None
    fault_text: str | None = None
    isolated: bool = False
    position: float | None = None
    level: float | None = None
    pressure: float | None = None
    trapped_pressure: float | None = None
    trips: int = 0
    note: str | None = None


class SensorFlag(_Model):
    """A sensor marked faulty by ``flag_sensor``: still read, but its alarms are suppressed."""

    reason: str
    t_s: float
    role: str


class WorkOrder(_Model):
    id: str
    device_id: str
    description: str
    priority: str
    t_s: float
    role: str


class Escalation(_Model):
    id: str
    summary: str
    device_id: str | None
    severity: str
    t_s: float
    role: str


class AlarmEvent(_Model):
    """An alarm-log line: a sensor entering or leaving alarm, or a device tripping."""

    t_s: float
    device_id: str
    sensor_id: str | None = None
    event: Literal["alarm_high", "alarm_low", "cleared", "trip"]
    message: str
    value: float | None = None


class Alarm(_Model):
    """The alarm a run starts from: the device it is about and the text the agents receive."""

    device: str
    message: str


class LedgerEntry(_Model):
    """One tool call as the plant recorded it. A call with a key already here is replayed."""

    seq: int
    key: str
    role: str
    tool: str
    arguments: Any
    outcome: LedgerOutcome
    result_json: str = Field(description="ToolResult.to_dict() as JSON text")
    sim_time_s: float
    safety_violation: bool = False

    @property
    def result(self) -> dict[str, Any]:
        """The recorded ToolResult fields (ok, content, error, refused, reason, ...)."""
        decoded: dict[str, Any] = json.loads(self.result_json)
        return decoded


@lru_cache(maxsize=64)
def _parse_layout(text: str) -> LayoutSpec:
    return LayoutSpec.model_validate_json(text)


class PlantState(_Model):
    """The whole plant document."""

    schema_version: Literal[2] = SCHEMA_VERSION
    run_id: str
    scenario_id: str
    scenario_json: str = Field(
        default="", description="the Scenario as JSON text, so a run can be graded from the store"
    )
    seed: int
    layout_json: str = Field(description="the LayoutSpec as JSON text")
    tick: int = 0
    alarm_tick: int = 0
    alarm: Alarm
    devices: dict[str, DeviceState]
    thermal: dict[str, float] = Field(default_factory=dict)
    true_values: dict[str, float] = Field(default_factory=dict)
    readings: dict[str, float] = Field(default_factory=dict)
    faults: list[Fault] = Field(default_factory=list)
    flags: dict[str, SensorFlag] = Field(default_factory=dict)
    work_orders: list[WorkOrder] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    alarm_log: list[AlarmEvent] = Field(default_factory=list)
    active_alarms: dict[str, str] = Field(default_factory=dict)
    history: dict[str, str] = Field(
        default_factory=dict,
        description="readings per sensor as comma-separated text, one per tick, newest last",
    )
    maintenance_log: list[LogEntry] = Field(default_factory=list)
    ledger_length: int = Field(default=0, description="tool calls recorded: the tail's seq")
    ledger_tail: LedgerEntry | None = Field(
        default=None,
        description="the newest ledger entry; it may not have its own key yet (plant.ledger)",
    )

    @property
    def layout(self) -> LayoutSpec:
        """The plant layout (parsed once per distinct layout text and cached)."""
        return _parse_layout(self.layout_json)

    def samples(self, sensor_id: str) -> list[tuple[float, float]]:
        """A sensor's recorded (time, reading) pairs: one per tick, the last one now."""
        text = self.history.get(sensor_id, "")
        values = [float(value) for value in text.split(",")] if text else []
        step = self.layout.tick_seconds
        first_tick = self.tick - len(values) + 1
        return [(float((first_tick + i) * step), value) for i, value in enumerate(values)]

    def record_sample(self, sensor_id: str, reading: float) -> None:
        """Append a reading to a sensor's history, keeping the last HISTORY_SAMPLES."""
        text = self.history.get(sensor_id, "")
        values = [*text.split(","), repr(reading)] if text else [repr(reading)]
        self.history[sensor_id] = ",".join(values[-HISTORY_SAMPLES:])

    @property
    def sim_time_s(self) -> float:
        """Simulated seconds since the plant started (the alarm came at ``alarm_tick``)."""
        return float(self.tick * self.layout.tick_seconds)

    def status_of(self, device_id: str) -> str:
        """running / stopped / tripped for machines; open / throttled / closed for valves;
        in_service for tanks and heat exchangers."""
        spec = self.layout.devices[device_id]
        device = self.devices[device_id]
        if spec.kind in MACHINE_KINDS:
            if device.tripped:
                return "tripped"
            return "running" if device.running else "stopped"
        if spec.kind == "valve":
            position = device.position or 0.0
            if position >= 90:
                return "open"
            return "closed" if position <= 0 else "throttled"
        return "in_service"

    def has_work_order(self, target: str) -> bool:
        return any(order.device_id == target for order in self.work_orders)


def plant_state_from_document(store: StateStore, key: str, document: JsonObject) -> PlantState:
    """The plant document loaded from ``store`` under ``key``, validated.

    Raises:
        CorruptStateError: the JSON object under ``key`` is not a plant document (another
            program wrote the key, or a newer agentrig); it names the key and where it lies,
            like the stores' own reports of corrupt data, and leaves it in place.
    """
    version = document.get("schema_version")
    if version != SCHEMA_VERSION and isinstance(version, int):
        raise CorruptStateError(key, store_location(store, key), _other_schema(version))
    try:
        return PlantState.model_validate(document)
    except ValidationError as error:
        raise CorruptStateError(
            key, store_location(store, key), _not_a_plant_document(error)
        ) from error


def _other_schema(version: int) -> str:
    if version < SCHEMA_VERSION:
        return (
            f"it is a plant document of schema {version}, written by an older agentrig (its "
            "action ledger inside the document); finish that run with that version, or delete "
            "the key to let the run start afresh"
        )
    return (
        f"it is a plant document of schema {version}, written by a newer agentrig; "
        "upgrade agentrig to read it"
    )


def _not_a_plant_document(error: ValidationError) -> str:
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"]) or "the document"
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return (
        f"it is not a plant document ({field}: {first['msg']}{more}); delete the key to let "
        "the run start afresh, or use a new run id"
    )
