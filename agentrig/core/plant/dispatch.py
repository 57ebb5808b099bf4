"""One tool call against a plant document: check, apply, advance the clock, record in the ledger.

:func:`execute_call` is pure with respect to its input document (it mutates it and nothing else),
which is what lets the executor retry it on a fresh copy after losing a compare-and-set race.

Every call, even a rejected one, costs one tick of simulated time and one ledger entry: a model
that fumbles its tool calls pays for it in plant time and in the step budget.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from agentrig.core.contract.roles import ROLES
from agentrig.core.plant import actions, views
from agentrig.core.plant.results import ToolResult
from agentrig.core.plant.simulator import PlantSimulator
from agentrig.core.plant.state import LedgerEntry, LedgerOutcome, PlantState
from agentrig.core.plant.tools import ROLE_TOOLS, TOOLS, ToolSpec
from agentrig.exceptions import UnknownDeviceError

__all__ = ["canonical_arguments", "execute_call"]

_Action = Callable[[PlantSimulator, Any, str], ToolResult]
_ACTIONS: dict[str, _Action] = {
    "restart_device": actions.restart_device,
    "stop_device": actions.stop_device,
    "set_valve": actions.set_valve,
    "isolate_device": actions.isolate_device,
    "flag_sensor": actions.flag_sensor,
    "create_work_order": actions.create_work_order,
    "escalate_to_human": actions.escalate_to_human,
}

# Which id fields each tool takes, and what they may name.
_DEVICE_ONLY = "device"
_SENSOR_ONLY = "sensor"
_EITHER = "either"
_ID_FIELDS: dict[str, dict[str, str]] = {
    "check_device_status": {"device_id": _EITHER},
    "read_telemetry": {"device_id": _EITHER, "sensor_id": _SENSOR_ONLY},
    "get_alarm_history": {"device_id": _EITHER},
    "get_maintenance_log": {"device_id": _EITHER},
    "restart_device": {"device_id": _DEVICE_ONLY},
    "stop_device": {"device_id": _DEVICE_ONLY},
    "set_valve": {"device_id": _DEVICE_ONLY},
    "isolate_device": {"device_id": _DEVICE_ONLY},
    "flag_sensor": {"sensor_id": _SENSOR_ONLY},
    "create_work_order": {"device_id": _EITHER},
    "escalate_to_human": {"device_id": _EITHER},
}


class _Rejected(Exception):
    """A call that never reaches the plant; carries the result the model sees."""

    def __init__(self, result: ToolResult) -> None:
        super().__init__(result.error)
        self.result = result


def canonical_arguments(arguments: Any) -> Any:
    """Arguments as they are recorded and hashed: a JSON string is parsed, dict keys sorted."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return arguments
    if arguments is None:
        return {}
    try:
        return json.loads(json.dumps(arguments, sort_keys=True, default=str))
    except (TypeError, ValueError):
        return repr(arguments)


def execute_call(
    state: PlantState, *, role: str, tool: str, arguments: Any, key: str
) -> LedgerEntry:
    """Run one tool call on ``state`` (mutating it) and make its ledger entry the tail, returned.

    The entry gets its own key only after the plant document is written (see ``plant.ledger``).
    """
    simulator = PlantSimulator(state)
    recorded = canonical_arguments(arguments)
    try:
        spec, model = _admit(simulator, role, tool, recorded)
        result, outcome = _perform(simulator, spec, model, role)
    except _Rejected as rejected:
        simulator.advance()
        result, outcome = rejected.result, "rejected"
    result = ToolResult(
        ok=result.ok,
        content={**result.content, "sim_time_s": state.sim_time_s},
        error=result.error,
        refused=result.refused,
        reason=result.reason,
        safety_violation=result.safety_violation,
    )
    entry = LedgerEntry(
        seq=state.ledger_length + 1,
        key=key,
        role=role,
        tool=tool,
        arguments=recorded,
        outcome=outcome,
        result_json=json.dumps(result.to_dict(), separators=(",", ":")),
        sim_time_s=state.sim_time_s,
        safety_violation=result.safety_violation,
    )
    state.ledger_length = entry.seq
    state.ledger_tail = entry
    return entry


def _admit(
    simulator: PlantSimulator, role: str, tool: str, arguments: Any
) -> tuple[ToolSpec, BaseModel]:
    """Role, tool, argument and id checks; raises _Rejected with the model-facing error."""
    if role not in ROLE_TOOLS:
        raise _Rejected(
            ToolResult.failure(
                f"unknown role {role!r}", refused=True, reason=f"roles are {', '.join(ROLES)}"
            )
        )
    allowed = ROLE_TOOLS[role]
    if tool not in TOOLS:
        close = difflib.get_close_matches(tool, allowed, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise _Rejected(
            ToolResult.failure(
                f"unknown tool {tool!r}.{hint} The {role}'s tools are: {', '.join(allowed)}",
                refused=True,
                reason="unknown tool",
            )
        )
    if tool not in allowed:
        raise _Rejected(
            ToolResult.failure(
                f"{tool} is not available to the {role}",
                refused=True,
                reason=f"the {role} may use: {', '.join(allowed)}",
            )
        )
    spec = TOOLS[tool]
    if not isinstance(arguments, dict):
        raise _Rejected(
            ToolResult.failure(
                f"invalid arguments for {tool}: expected a JSON object, got {str(arguments)[:200]!r}. "
                f"Expected arguments: {_signature(spec)}"
            )
        )
    try:
        model = spec.args_model.model_validate(arguments)
    except ValidationError as error:
        raise _Rejected(ToolResult.failure(_validation_text(spec, error))) from error
    return spec, _resolve_ids(simulator, tool, model)


def _signature(spec: ToolSpec) -> str:
    schema = spec.json_schema()
    parts = []
    for name, prop in schema["properties"].items():
        types = [t.get("type") for t in prop.get("anyOf", [prop])]
        nullable = "null" in types
        kinds = "|".join(str(t) for t in types if t != "null")
        parts.append(f"{name}: {kinds}{' or null' if nullable else ''}")
    return "{" + ", ".join(parts) + "}" if parts else "{} (no arguments)"


def _validation_text(spec: ToolSpec, error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"]
        if item["type"] == "missing":
            problems.append(f"{where} is required")
        elif item["type"] == "extra_forbidden":
            problems.append(f"{where} is not an argument of {spec.name}")
        else:
            problems.append(f"{where}: {message} (got {item.get('input')!r})")
    return (
        f"invalid arguments for {spec.name}: {'; '.join(problems)}. "
        f"Expected arguments: {_signature(spec)}"
    )


def _normalise_id(value: str) -> str:
    return re.sub(r"[\s_]+", "-", value.strip().lower())


def _unknown(simulator: PlantSimulator, value: str) -> _Rejected:
    known = [*simulator.layout.devices, *simulator.layout.all_sensors()]
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    return _Rejected(
        ToolResult.failure(
            f"{UnknownDeviceError(value)}.{hint}", refused=True, reason="unknown device"
        )
    )


def _resolve_ids(simulator: PlantSimulator, tool: str, model: BaseModel) -> BaseModel:
    """Normalise id fields and check that they name what the tool takes."""
    layout = simulator.layout
    updates: dict[str, Any] = {}
    for field_name, allowed in _ID_FIELDS.get(tool, {}).items():
        raw = getattr(model, field_name)
        if raw is None:
            continue
        value = _normalise_id(raw)
        is_device = value in layout.devices
        owner = layout.sensor_owner(value)
        if not is_device and owner is None:
            raise _unknown(simulator, value)
        if allowed == _DEVICE_ONLY and not is_device:
            raise _Rejected(
                ToolResult.failure(
                    f"{value} is a sensor of {owner}; {tool} takes a device id such as {owner}",
                    refused=True,
                    reason="not a device",
                )
            )
        if allowed == _SENSOR_ONLY and owner is None:
            sensors = ", ".join(layout.devices[value].sensors) or "none"
            raise _Rejected(
                ToolResult.failure(
                    f"{value} is a device, not a sensor; its sensors are: {sensors}",
                    refused=True,
                    reason="not a sensor",
                )
            )
        updates[field_name] = value
    if tool == "read_telemetry":
        device = updates.get("device_id")
        sensor = updates.get("sensor_id")
        owner = layout.sensor_owner(device) if device else None
        if owner is not None:  # a sensor id given as the device: read that sensor
            updates["device_id"], updates["sensor_id"] = owner, sensor or device
        elif sensor and layout.sensor_owner(sensor) != device:
            raise _Rejected(
                ToolResult.failure(
                    f"{sensor} is not a sensor of {device}; it belongs to "
                    f"{layout.sensor_owner(sensor)}",
                    refused=True,
                    reason="sensor of another device",
                )
            )
    elif tool in ("check_device_status", "get_alarm_history", "get_maintenance_log"):
        device = updates.get("device_id")
        if device and layout.sensor_owner(device):
            updates["device_id"] = layout.sensor_owner(device)
    return model.model_copy(update=updates)


def _perform(
    simulator: PlantSimulator, spec: ToolSpec, model: Any, role: str
) -> tuple[ToolResult, LedgerOutcome]:
    if spec.kind == "read":
        simulator.advance()
        return ToolResult.success(**_read(simulator, spec.name, model)), "read"
    result = _ACTIONS[spec.name](simulator, model, role)
    simulator.advance()
    if result.ok and spec.name in ("restart_device", "stop_device", "isolate_device"):
        # Report the state after the tick: a machine restarted into a fault may trip at once.
        result = ToolResult.success(
            **result.content, status=simulator.state.status_of(model.device_id)
        )
    return result, "applied" if result.ok else "refused"


def _read(simulator: PlantSimulator, tool: str, model: Any) -> dict[str, Any]:
    if tool == "list_devices":
        return views.list_devices(simulator)
    if tool == "check_device_status":
        return views.device_status(simulator, model.device_id)
    if tool == "read_telemetry":
        return views.telemetry(simulator, model.device_id, model.sensor_id, model.window_minutes)
    if tool == "get_alarm_history":
        return views.alarm_history(simulator, model.device_id)
    return views.maintenance_log(simulator, model.device_id)
