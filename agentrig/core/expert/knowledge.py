"""What an agent knows: the facts the expert policy extracts from its own tool calls and results.

Only what the agent saw goes in -- tool names, arguments, the result texts -- never the scenario
or the simulator. A result may be the parsed JSON object a model saw, or raw text (from which a
JSON object is recovered when one is embedded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from agentrig.core.plant.tools import TOOLS

__all__ = ["ACTION_TOOLS", "Call", "Knowledge", "ids_in", "normalise_arguments", "parse_result"]

ACTION_TOOLS: Final = frozenset(name for name, spec in TOOLS.items() if spec.kind == "action")
MACHINES: Final = frozenset({"pump", "motor", "compressor"})
_ID = re.compile(r"\b([a-z][a-z]*-\d+)\b", re.IGNORECASE)


def parse_result(result: Any) -> dict[str, Any] | None:
    """A tool result as a dict, or None when no JSON object can be found in it."""
    if isinstance(result, Mapping):
        return dict(result)
    if not isinstance(result, str):
        return None
    text = result.strip()
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1]):
        if not candidate:
            continue
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return None


def normalise_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments compared by meaning: None values dropped, ids lower-cased."""
    normal: dict[str, Any] = {}
    for key, value in arguments.items():
        if value is None:
            continue
        if key.endswith("_id") and isinstance(value, str):
            value = value.strip().lower()
        normal[key] = value
    return normal


@dataclass(frozen=True)
class Call:
    """One of the agent's own tool calls with its outcome."""

    index: int
    tool: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return bool(self.result and self.result.get("ok"))

    def same(self, tool: str, arguments: Mapping[str, Any]) -> bool:
        return self.tool == tool and normalise_arguments(self.arguments) == normalise_arguments(
            arguments
        )


@dataclass
class Knowledge:
    """Facts gathered from one agent's tool calls, indexed for the policy."""

    tools: frozenset[str]
    calls: list[Call] = field(default_factory=list)
    first_status: dict[str, dict[str, Any]] = field(default_factory=dict)
    latest_status: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    telemetry: dict[str, dict[str, Any]] = field(default_factory=dict)
    device_list: dict[str, dict[str, Any]] | None = None
    alarm_history: list[dict[str, Any]] | None = None
    maintenance: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sensor_owner: dict[str, str] = field(default_factory=dict)
    unknown_ids: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, tools: Sequence[str], observations: Sequence[Any]) -> Knowledge:
        """Index ``observations`` (objects with ``tool``, ``arguments`` and ``result``)."""
        knowledge = cls(tools=frozenset(tools))
        for index, observation in enumerate(observations):
            arguments = dict(observation.arguments or {})
            result = parse_result(observation.result)
            call = Call(index, observation.tool, arguments, result)
            knowledge.calls.append(call)
            knowledge._absorb(call)
        return knowledge

    def _absorb(self, call: Call) -> None:
        result = call.result
        if result is None:
            return
        if not result.get("ok"):
            error = str(result.get("error", ""))
            if "unknown device" in error:
                for key in ("device_id", "sensor_id"):
                    value = call.arguments.get(key)
                    if isinstance(value, str):
                        self.unknown_ids.add(value.strip().lower())
            return
        if call.tool == "check_device_status" and "device_id" in result:
            device = str(result["device_id"])
            self.first_status.setdefault(device, result)
            self.latest_status[device] = (call.index, result)
            for reading in result.get("readings", []):
                self.sensor_owner[str(reading.get("sensor_id"))] = device
            asked = call.arguments.get("device_id")
            if isinstance(asked, str) and asked.strip().lower() != device:
                self.sensor_owner[asked.strip().lower()] = device
        elif call.tool == "read_telemetry" and "device_id" in result:
            device = str(result["device_id"])
            merged = self.telemetry.setdefault(device, {})
            for sensor in result.get("sensors", []):
                merged[str(sensor.get("sensor_id"))] = sensor
                self.sensor_owner[str(sensor.get("sensor_id"))] = device
        elif call.tool == "list_devices":
            self.device_list = {str(d.get("device_id")): d for d in result.get("devices", [])}
            for device_id, entry in self.device_list.items():
                for sensor in entry.get("sensors", []):
                    self.sensor_owner[str(sensor)] = device_id
        elif call.tool == "get_alarm_history":
            self.alarm_history = list(result.get("alarms", []))
        elif call.tool == "get_maintenance_log":
            self.maintenance[str(result.get("device_id"))] = list(result.get("entries", []))

    # ------------------------------------------------------------------ queries

    def status(self, device: str) -> dict[str, Any] | None:
        """The latest status result of ``device``."""
        found = self.latest_status.get(device)
        return found[1] if found else None

    def info(self, device: str) -> dict[str, Any] | None:
        """The best summary of ``device``: its status if checked, else its list_devices entry."""
        return self.status(device) or (self.device_list or {}).get(device)

    def owner(self, identifier: str) -> str | None:
        """The device an id denotes: itself when it is a known device, its owner for a sensor."""
        if identifier in self.latest_status or identifier in (self.device_list or {}):
            return identifier
        return self.sensor_owner.get(identifier)

    def known_device(self, identifier: str) -> bool:
        return identifier in self.latest_status or identifier in (self.device_list or {})

    def actions(self) -> list[Call]:
        return [call for call in self.calls if call.tool in ACTION_TOOLS]

    def status_since(self, device: str, index: int) -> dict[str, Any] | None:
        """The latest status of ``device`` observed after call ``index``."""
        found = self.latest_status.get(device)
        return found[1] if found and found[0] > index else None

    def called(self, tool: str, arguments: Mapping[str, Any]) -> bool:
        return any(call.same(tool, arguments) for call in self.calls)

    def escalated(self) -> bool:
        return any(call.tool == "escalate_to_human" and call.ok for call in self.calls)


def ids_in(text: str) -> list[str]:
    """Device-like ids (pump-07, pt-07) in ``text``, lower-cased, first mention first."""
    seen: list[str] = []
    for match in _ID.finditer(text):
        identifier = match.group(1).lower()
        if identifier not in seen:
            seen.append(identifier)
    return seen
