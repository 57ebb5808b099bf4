"""The agents' tool catalogue, defined once: argument models, JSON schemas, descriptions, roles.

Every adapter builds its framework's tools from :data:`TOOLS` (or :func:`tools_for_role`) and
sends every call to the one :class:`~agentrig.core.plant.executor.ToolExecutor`.

Role sets:

- ``monitor`` and ``diagnostician``: the five read-only tools.
- ``operator``: the seven actions, plus ``check_device_status`` and ``read_telemetry`` so it can
  check a device before acting and verify the effect afterwards. It has no ``list_devices``: it
  works from the diagnosis it is handed (a status result names a device's neighbours).

:meth:`ToolSpec.json_schema` is valid for OpenAI ``strict: true`` function calling: every object
has ``additionalProperties: false``, every property is required, optional arguments are nullable
(``null`` means "use the default"), and there are no numeric constraints (ranges are stated in the
descriptions and enforced by validation instead).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrig.core.contract.roles import ROLES, Role

__all__ = [
    "ACTION_TOOLS",
    "READ_TOOLS",
    "ROLE_TOOLS",
    "TOOLS",
    "ToolKind",
    "ToolSpec",
    "tools_for_role",
]

ToolKind = Literal["read", "action"]
Priority = Literal["low", "medium", "high", "urgent"]
Severity = Literal["low", "medium", "high", "critical"]

_DEVICE = "The device id, e.g. pump-07 (list_devices shows them). A sensor id such as pt-07 is also accepted and means its device."


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListDevicesArgs(_Args):
    """No arguments."""


class DeviceArgs(_Args):
    device_id: str = Field(min_length=1, description=_DEVICE)


class ReadTelemetryArgs(_Args):
    device_id: str = Field(min_length=1, description=_DEVICE)
    sensor_id: str | None = Field(
        default=None,
        description="Only this sensor of the device (e.g. pt-07); null for all of its sensors.",
    )
    window_minutes: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="How many minutes of history, 1 to 20; null for the default of 5.",
    )


class OptionalDeviceArgs(_Args):
    device_id: str | None = Field(
        default=None, description="Only entries about this device; null for the whole plant."
    )


class ReasonedDeviceArgs(_Args):
    device_id: str = Field(min_length=1, description="The device id, e.g. pump-07.")
    reason: str | None = Field(default=None, description="Why, in a few words; null if obvious.")


class SetValveArgs(_Args):
    device_id: str = Field(min_length=1, description="The valve id, e.g. valve-12.")
    open_percent: float = Field(
        ge=0, le=100, description="Target opening in percent, 0 (closed) to 100 (fully open)."
    )


class FlagSensorArgs(_Args):
    sensor_id: str = Field(min_length=1, description="The sensor id, e.g. pt-07.")
    reason: str | None = Field(
        default=None, description="Why it is faulty (frozen, drifting ...); null if obvious."
    )


class CreateWorkOrderArgs(_Args):
    device_id: str = Field(
        min_length=1, description="The device or sensor id to repair, e.g. valve-12 or pt-07."
    )
    description: str = Field(min_length=1, description="What the maintenance crew must do and why.")
    priority: Priority | None = Field(
        default=None, description="low, medium, high or urgent; null for medium."
    )


class EscalateArgs(_Args):
    summary: str = Field(
        min_length=1, description="What is wrong, what you did, and what a human must do."
    )
    device_id: str | None = Field(default=None, description="The device concerned, or null.")
    severity: Severity | None = Field(
        default=None, description="low, medium, high or critical; null for high."
    )


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, the description a model reads, its argument model and its kind."""

    name: str
    description: str
    args_model: type[BaseModel]
    kind: ToolKind

    def json_schema(self) -> dict[str, Any]:
        """The parameters' JSON schema, valid for OpenAI strict function calling (a fresh copy)."""
        return copy.deepcopy(_cached_strict_schema(self.args_model))

    def openai_tool(self, *, strict: bool = True) -> dict[str, Any]:
        """This tool in the Chat Completions ``tools`` format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.json_schema(),
                "strict": strict,
            },
        }


@functools.cache
def _cached_strict_schema(args_model: type[BaseModel]) -> dict[str, Any]:
    # Building a schema through pydantic costs ~0.3 ms a tool, and every adapter asks for the
    # operator's nine on every model turn; the models are fixed, so build each once.
    return _strict_schema(args_model.model_json_schema())


def _strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Make a pydantic schema strict-mode compatible (see the module docstring)."""
    result = copy.deepcopy(schema)

    def visit(node: dict[str, Any]) -> None:
        # `node` is always a schema, never a `properties` map: a property may be named "title".
        for key in ("title", "default", "minimum", "maximum", "minLength", "maxLength"):
            node.pop(key, None)
        if node.get("type") == "object":
            properties = node.setdefault("properties", {})
            node["required"] = list(properties)
            node["additionalProperties"] = False
            for child in properties.values():
                visit(child)
        for key in ("anyOf", "allOf", "oneOf"):
            for child in node.get(key, []):
                visit(child)
        if isinstance(node.get("items"), dict):
            visit(node["items"])
        for child in node.get("$defs", {}).values():
            visit(child)

    visit(result)
    return result


TOOLS: Final[dict[str, ToolSpec]] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "list_devices",
            "List every device of the plant with its kind, status, connections (feeds, fed_by, "
            "driven_by), sensors and active alarms. Start here to see what is connected to what.",
            ListDevicesArgs,
            "read",
        ),
        ToolSpec(
            "check_device_status",
            "Check one device: its status (running, stopped, tripped; valve position), trip "
            "reason, every sensor's current reading against its normal band and alarm limits, "
            "its connections and open work orders.",
            DeviceArgs,
            "read",
        ),
        ToolSpec(
            "read_telemetry",
            "Read a window of recent readings (one sample per 30 s) of a device's sensors, with "
            "a summary per sensor: first, last, min, max, change per minute and trend (rising, "
            "falling, steady, or flat = identical readings, typical of a frozen sensor).",
            ReadTelemetryArgs,
            "read",
        ),
        ToolSpec(
            "get_alarm_history",
            "Get the alarm log: sensors entering and leaving alarm, and device trips, newest last.",
            OptionalDeviceArgs,
            "read",
        ),
        ToolSpec(
            "get_maintenance_log",
            "Get the maintenance log (past work, calibrations, notes) and the work orders "
            "created in this run.",
            OptionalDeviceArgs,
            "read",
        ),
        ToolSpec(
            "restart_device",
            "Start (or restart) a pump, motor or compressor; a pump starts together with its "
            "motor and resetting a tripped breaker is part of it. Safety interlocks refuse "
            "unsafe starts, e.g. against a closed discharge valve, above the pressure limit, "
            "when too hot, after a ground fault, or when isolated.",
            ReasonedDeviceArgs,
            "action",
        ),
        ToolSpec(
            "stop_device",
            "Stop a pump, motor or compressor (a pump stops together with its motor).",
            ReasonedDeviceArgs,
            "action",
        ),
        ToolSpec(
            "set_valve",
            "Move a valve to an opening between 0 (closed) and 100 (fully open) percent. "
            "Closing the discharge valve of a running machine is refused by an interlock.",
            SetValveArgs,
            "action",
        ),
        ToolSpec(
            "isolate_device",
            "Isolate a machine or valve for maintenance (lock-out): a machine is stopped, a valve "
            "closed, and it cannot be started or moved until maintenance releases it.",
            ReasonedDeviceArgs,
            "action",
        ),
        ToolSpec(
            "flag_sensor",
            "Flag a sensor as faulty (frozen, drifting, implausible): its readings stay visible "
            "but marked, and its alarms are suppressed. Use it instead of acting on a healthy "
            "machine because of a bad reading.",
            FlagSensorArgs,
            "action",
        ),
        ToolSpec(
            "create_work_order",
            "Create a maintenance work order for a device or sensor that needs repair, cleaning "
            "or calibration.",
            CreateWorkOrderArgs,
            "action",
        ),
        ToolSpec(
            "escalate_to_human",
            "Escalate to the human shift supervisor: for hazards that need a technician, causes "
            "outside the plant, or when you cannot make the plant safe yourself.",
            EscalateArgs,
            "action",
        ),
    )
}
"""Every tool, by name, in catalogue order."""

READ_TOOLS: Final[tuple[str, ...]] = tuple(n for n, s in TOOLS.items() if s.kind == "read")
ACTION_TOOLS: Final[tuple[str, ...]] = tuple(n for n, s in TOOLS.items() if s.kind == "action")

ROLE_TOOLS: Final[dict[Role, tuple[str, ...]]] = {
    "monitor": READ_TOOLS,
    "diagnostician": READ_TOOLS,
    # The operator acts, and reads only what it needs to check before and verify after acting.
    "operator": ("check_device_status", "read_telemetry", *ACTION_TOOLS),
}
"""Which tools each role may call; the executor refuses the others."""


def tools_for_role(role: Role) -> list[ToolSpec]:
    """The tools of ``role``, in catalogue order.

    Raises:
        ValueError: ``role`` is not one of monitor, diagnostician, operator.
    """
    if role not in ROLE_TOOLS:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    return [TOOLS[name] for name in ROLE_TOOLS[role]]
