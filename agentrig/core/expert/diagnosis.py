"""The expert's diagnosis: from tool results to root causes, asking for what it still needs.

:class:`Investigator` reasons over a :class:`Knowledge` the way a maintenance engineer would:

1. A machine that tripped says why (trip reason); one that stopped without a reason of its own
   was stopped by the machine it is coupled to (a pump by its motor).
2. Upstream first: a valve away from its normal position, a machine upstream that is not
   running, or a tank upstream running low explains symptoms downstream (the cascade).
3. A sensor is suspect when its readings are frozen (identical samples), or when it is the only
   abnormal reading on its device, every neighbour is checked and quiet (disagreement with
   neighbours), and -- on a machine -- the machine's own record does not point to the machine.
   A neighbour seen only in the device list is unknown, not quiet: the list shows its alarms,
   not a reading above normal but below its alarm limit, so its status is asked for first. A
   neighbour without sensors (a plain valve) cannot disagree, so the devices beyond it, in the
   same direction, stand in for it.
4. Otherwise the pattern of abnormal quantities names the fault: discharge pressure high with
   flow low is a restriction in the discharge path (closed valve or blockage); vibration with
   bearing temperature is bearing wear; hot windings are an overheating motor.

When a fact is missing, the investigator raises :class:`NeedInfo` with the tool calls that would
provide it; the policy returns those calls and is asked again with their results. It uses only
device ids, kinds, connections, readings and the words of trip reasons -- never a scenario.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agentrig.core.expert.knowledge import MACHINES, Knowledge

__all__ = ["Finding", "Investigator", "NeedInfo", "Request", "abnormal_readings"]

Request = tuple[str, dict[str, Any]]
_HIGH = ("alarm_high", "above_normal")
_LOW = ("alarm_low", "below_normal")
_MAX_DEPTH = 5
# Words a person writes in a log about a machine that is really misbehaving: what they heard,
# felt or smelt on the round. A survey that found the machine "within limits" uses none of them.
_SYMPTOMS = re.compile(
    r"\b(nois[ey]\w*|knock\w*|rough\w*|rattl\w*|grind\w*|squeal\w*|overheat\w*|smok\w*|"
    r"burn\w*|leak\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """A root cause: a vocabulary label, the device or sensor at fault, and the evidence."""

    label: str
    device: str
    evidence: str


class NeedInfo(Exception):
    """The investigation needs these tool calls answered first."""

    def __init__(self, requests: Sequence[Request]) -> None:
        super().__init__(f"{len(requests)} tool calls needed")
        self.requests = list(requests)


def abnormal_readings(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Readings outside their normal band (and not flagged as faulty)."""
    return [
        reading
        for reading in status.get("readings", [])
        if reading.get("state") in (*_HIGH, *_LOW) and not reading.get("flagged")
    ]


def _describe(reading: dict[str, Any]) -> str:
    return (
        f"{reading.get('sensor_id')} {str(reading.get('quantity', '')).replace('_', ' ')} "
        f"{reading.get('value')} {reading.get('unit', '')} ({reading.get('state')})"
    )


def _unrest(device: str, info: dict[str, Any]) -> str | None:
    """Why ``device`` is not quiet (an alarm, an abnormal reading, a machine not running, a valve
    away from its normal position), or None when it is."""
    bad = abnormal_readings(info)
    if bad:
        return f"{device} is not quiet either: {_describe(bad[0])}"
    if info.get("active_alarms"):
        return f"{device} alarms: {info['active_alarms'][0]}"
    if info.get("kind") in MACHINES and info.get("status") != "running":
        return f"{device} is {info.get('status')}"
    position = info.get("position_percent")
    normal = info.get("normal_position_percent") or 100
    if position is not None and float(position) < float(normal) - 10:
        return f"{device} is {position}% open (normal {normal}%)"
    return None


def _has(readings: Iterable[dict[str, Any]], word: str, states: tuple[str, ...]) -> bool:
    return any(word in str(r.get("quantity", "")) and r.get("state") in states for r in readings)


class Investigator:
    """Diagnoses devices from one agent's knowledge; ``deep`` False skips upstream and neighbours."""

    def __init__(self, knowledge: Knowledge, *, deep: bool = True) -> None:
        self.k = knowledge
        self.deep = deep

    # ------------------------------------------------------------------ facts, or what to ask

    def status(self, device: str) -> dict[str, Any] | None:
        """The device's status; raises NeedInfo when it can be asked for, None when it cannot."""
        found = self.k.status(device)
        if found is not None:
            return found
        if device in self.k.unknown_ids or "check_device_status" not in self.k.tools:
            return None
        raise NeedInfo([("check_device_status", {"device_id": device})])

    def statuses(self, devices: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Several statuses at once: every missing one is asked for in the same round."""
        found: dict[str, dict[str, Any]] = {}
        missing: list[Request] = []
        for device in dict.fromkeys(devices):
            try:
                status = self.status(device)
            except NeedInfo as need:
                missing.extend(need.requests)
                continue
            if status is not None:
                found[device] = status
        if missing:
            raise NeedInfo(missing)
        return found

    def info(self, device: str) -> dict[str, Any] | None:
        """A status, or the list_devices entry when that says enough (kind, state, links)."""
        return self.k.info(device) or self.status(device)

    def telemetry(self, device: str) -> dict[str, Any] | None:
        if device in self.k.telemetry:
            return self.k.telemetry[device]
        if "read_telemetry" not in self.k.tools:
            return None
        raise NeedInfo([("read_telemetry", {"device_id": device})])

    def resolve(self, identifiers: Sequence[str]) -> list[str]:
        """The devices that alarm ids denote (a sensor id denotes its device), in order.

        Asks for one unresolved id at a time: the next may turn out to be a sensor of this one.
        """
        devices: list[str] = []
        for identifier in identifiers:
            if identifier in self.k.unknown_ids:
                continue
            owner = self.k.owner(identifier)
            if owner is None and self.k.device_list is not None:
                continue  # not in the plant's device list: not a device or sensor of this plant
            if owner is None:
                status = self.status(identifier)
                owner = str(status["device_id"]) if status else None
            if owner is not None and owner not in devices:
                devices.append(owner)
        return devices

    # ------------------------------------------------------------------ diagnosis

    def diagnose(self, identifiers: Sequence[str]) -> list[Finding]:
        """Root causes behind the alarms on ``identifiers``; NeedInfo lists every missing fact."""
        findings: list[Finding] = []
        missing: list[Request] = []
        for device in self.resolve(identifiers):
            try:
                found = self.device(device, 0, set())
            except NeedInfo as need:
                missing.extend(need.requests)
                continue
            for finding in found:
                if all((f.label, f.device) != (finding.label, finding.device) for f in findings):
                    findings.append(finding)
        if missing:
            raise NeedInfo(
                list({(t, tuple(sorted(a.items()))): (t, a) for t, a in missing}.values())
            )
        return findings

    def device(self, device: str, depth: int, seen: set[str]) -> list[Finding]:
        """What is wrong at (or because of something upstream of) ``device``."""
        if device in seen or depth > _MAX_DEPTH:
            return []
        seen.add(device)
        status = self.status(device)
        if status is None:
            return []
        kind = status.get("kind")
        if kind in MACHINES:
            if status.get("trip_reason"):
                return self.trip(device, status)
            if status.get("status") != "running" and not status.get("isolated"):
                for other in (status.get("driven_by"), status.get("drives")):
                    if not other:
                        continue
                    coupled = self.status(str(other))
                    if coupled and coupled.get("trip_reason"):
                        return self.trip(str(other), coupled)
        if self.deep:
            upstream = self.upstream(device, status, depth, seen)
            if upstream:
                return upstream
        bad = abnormal_readings(status)
        if not bad:
            return []
        telemetry = self.telemetry(device) or {}
        for reading in bad:
            summary = (telemetry.get(str(reading.get("sensor_id"))) or {}).get("summary") or {}
            if summary.get("trend") == "flat":
                return [
                    Finding(
                        "stuck_sensor",
                        str(reading["sensor_id"]),
                        f"{_describe(reading)} has not changed at all over the telemetry window "
                        f"while the other readings of {device} move with normal noise",
                    )
                ]
        if len(bad) == 1 and self.deep:
            loud = self.loud_neighbour(device, status)
            if loud is not None:
                # A neighbour agrees that something is wrong: the reading is not alone.
                return [
                    Finding(f.label, f.device, f"{f.evidence}; {loud}")
                    for f in self.pattern(device, status, bad)
                ]
            reading = bad[0]
            record = self.machine_record(device, status)
            if record is None:
                summary = (telemetry.get(str(reading.get("sensor_id"))) or {}).get("summary") or {}
                return [
                    Finding(
                        "sensor_drift",
                        str(reading["sensor_id"]),
                        f"{_describe(reading)} is the only abnormal reading on {device} and is "
                        f"{summary.get('trend', 'off')} while every other reading and every "
                        "neighbouring device is normal",
                    )
                ]
            # Nothing around the machine disagrees, but its own record says it is the machine.
            return [
                Finding(f.label, f.device, f"{f.evidence}; {record}")
                for f in self.pattern(device, status, bad)
            ]
        return self.pattern(device, status, bad)

    def trip(self, device: str, status: dict[str, Any]) -> list[Finding]:
        reason = str(status.get("trip_reason", "")).lower()
        text = f"{device} tripped ({reason})"
        if "ground" in reason or "earth" in reason:
            return [Finding("ground_fault", device, f"{text}: {status.get('fault_text', '')}")]
        if "breaker" in reason or "overcurrent" in reason:
            return [Finding("tripped_breaker", device, f"{text}: {status.get('fault_text', '')}")]
        if "vibration" in reason:
            return [Finding("bearing_wear", device, text)]
        if "overtemperature" in reason or (status.get("kind") == "motor" and "temp" in reason):
            return [Finding("motor_overheating", device, text)]
        if "pressure" in reason:
            return self.restriction(device, status, text)
        if self.deep:
            return self.upstream(device, status, 0, {device})
        return []

    def restriction(self, device: str, status: dict[str, Any], why: str) -> list[Finding]:
        """High discharge pressure: a closed valve or a blockage in the discharge path."""
        for following in status.get("feeds", []):
            valve = self.info(str(following))
            if valve is None or valve.get("kind") != "valve":
                continue
            if "position_percent" not in valve:
                valve = self.status(str(following)) or valve
            position = valve.get("position_percent")
            normal = valve.get("normal_position_percent") or 100
            if position is not None and float(position) < float(normal) - 10:
                return [
                    Finding(
                        "closed_valve",
                        str(following),
                        f"{why}; its discharge valve {following} is {position}% open "
                        f"(normal {normal}%)",
                    )
                ]
            downstream = [
                _describe(r)
                for r in valve.get("readings", [])
                if "pressure" in str(r.get("quantity"))
            ]
            after = f", while downstream {downstream[0]}" if downstream else ""
            return [
                Finding(
                    "blocked_discharge",
                    str(following),
                    f"{why}; discharge valve {following} reads {position}% open{after}: "
                    f"the flow is blocked in {following}",
                )
            ]
        return [Finding("blocked_discharge", device, f"{why}; no discharge valve: blocked line")]

    def upstream(
        self, device: str, status: dict[str, Any], depth: int, seen: set[str]
    ) -> list[Finding]:
        """The first anomaly upstream of ``device`` that explains symptoms downstream."""
        if depth > _MAX_DEPTH:
            return []
        for source in status.get("fed_by", []):
            source = str(source)
            if source in seen:
                continue
            info = self.info(source)
            if info is None:
                continue
            kind = info.get("kind")
            if kind == "valve":
                position = info.get("position_percent")
                normal = info.get("normal_position_percent") or 100
                if position is not None and float(position) < float(normal) - 10:
                    return [
                        Finding(
                            "closed_valve",
                            source,
                            f"{source}, upstream of {device}, is {position}% open "
                            f"(normal {normal}%): {device} is starved",
                        )
                    ]
                found = self.upstream(source, info, depth + 1, seen | {source})
            elif kind in MACHINES:
                if info.get("status") != "running" and not info.get("isolated"):
                    found = self.device(source, depth + 1, seen)
                else:
                    found = []
            elif kind == "tank":
                found = self.tank(source, device, depth, seen)
            else:
                found = self.upstream(source, info, depth + 1, seen | {source})
            if found:
                return found
        return []

    def tank(self, tank: str, below: str, depth: int, seen: set[str]) -> list[Finding]:
        status = self.status(tank)
        if status is None:
            return []
        readings = status.get("readings", [])
        if not _has(readings, "level", (*_LOW,)):
            return []
        level = next(r for r in readings if "level" in str(r.get("quantity")))
        if status.get("external_supply") or not status.get("fed_by"):
            supply = [_describe(r) for r in readings if "supply" in str(r.get("quantity"))]
            detail = f"; supply {supply[0]}" if supply else ""
            return [
                Finding(
                    "supply_loss",
                    tank,
                    f"{tank}, feeding {below}, is running low: {_describe(level)}{detail}; "
                    "its supply comes from outside the plant",
                )
            ]
        return self.upstream(tank, status, depth + 1, seen | {tank})

    def loud_neighbour(self, device: str, status: dict[str, Any]) -> str | None:
        """The first neighbour (upstream, downstream, coupled) that is not quiet, or None.

        Raises NeedInfo for the neighbours not checked yet (see rule 3 above); one that cannot
        be checked at all is unknown too, and unknown is never quiet.
        """
        frontier: list[tuple[str, str | None]] = [
            *[(str(n), "fed_by") for n in status.get("fed_by", [])],
            *[(str(n), "feeds") for n in status.get("feeds", [])],
            *[(str(x), None) for x in (status.get("driven_by"), status.get("drives")) if x],
        ]
        seen = {device}
        unchecked: list[str] = []
        for _ in range(_MAX_DEPTH):
            beyond: list[tuple[str, str | None]] = []
            for neighbour, direction in frontier:
                if neighbour in seen:
                    continue
                seen.add(neighbour)
                info = self.k.info(neighbour)
                sensorless = info is not None and not (info.get("sensors") or info.get("readings"))
                if info is None or not (sensorless or self.k.status(neighbour)):
                    unchecked.append(neighbour)
                    continue
                unrest = _unrest(neighbour, info)
                if unrest is not None:
                    return unrest
                if sensorless and direction:
                    beyond.extend((str(n), direction) for n in info.get(direction, []))
            frontier = beyond
        checked = self.statuses(unchecked)  # raises NeedInfo for every one that can be asked
        for neighbour in unchecked:
            if neighbour not in checked:
                return f"{neighbour} could not be checked"
            unrest = _unrest(neighbour, checked[neighbour])
            if unrest is not None:
                return unrest
        return None

    def machine_record(self, device: str, status: dict[str, Any]) -> str | None:
        """What in a machine's own record says the machine itself is at fault, or None.

        Asks for its maintenance log (NeedInfo) when it can. Only observations of the machine
        count, not entries about its sensors: a round that heard it knocking is a second
        witness, independent of the one sensor that alarms.
        """
        if status.get("kind") not in MACHINES:
            return None
        entries = self.k.maintenance.get(device)
        if entries is None:
            if "get_maintenance_log" not in self.k.tools:
                return None
            raise NeedInfo([("get_maintenance_log", {"device_id": device})])
        for entry in reversed(entries):
            text = str(entry.get("entry", ""))
            if str(entry.get("device_id")) == device and _SYMPTOMS.search(text):
                return f"the maintenance log for {device} records: {text.rstrip('.')}"
        return None

    def pattern(
        self, device: str, status: dict[str, Any], bad: list[dict[str, Any]]
    ) -> list[Finding]:
        kind = status.get("kind")
        seen = "; ".join(_describe(r) for r in bad)
        if kind in ("pump", "compressor"):
            has_flow = any("flow" in str(r.get("quantity")) for r in status.get("readings", []))
            if _has(bad, "discharge_pressure", _HIGH) and (_has(bad, "flow", _LOW) or not has_flow):
                return self.restriction(device, status, f"{device}: {seen}")
            if _has(bad, "vibration", _HIGH):
                return [Finding("bearing_wear", device, f"{device}: {seen}")]
        if kind == "motor" and (
            _has(bad, "winding_temperature", _HIGH) or _has(bad, "frame_temperature", _HIGH)
        ):
            return [Finding("motor_overheating", device, f"{device}: {seen}")]
        if kind == "tank" and _has(bad, "level", _LOW):
            return self.tank(device, device, 0, set())
        if len(bad) == 1:
            # A lone abnormal reading with no pattern behind it: the sensor is the suspect.
            return [Finding("sensor_drift", str(bad[0]["sensor_id"]), f"{device}: {seen}")]
        return []
