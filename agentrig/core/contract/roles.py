"""The three roles of the maintenance workflow, their system prompts and the answer convention.

Every adapter (plain, LangChain, AutoGen, CrewAI) uses these prompts verbatim, and the reference
model reads them, so the text lives here once. A role's final answer ends with machine-readable
lines (``ROOT_CAUSE: blocked_discharge`` ...) that :func:`parse_final_answer` reads back,
tolerating markdown: ``**Root cause:** Blocked discharge`` parses the same way.

The workflow: the monitor confirms the alarm, the diagnostician finds the root cause, the operator
acts. Each role's final answer is handed to the next role inside its task, under a header made by
:func:`handoff_header` (see :func:`build_task`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "HANDOFF_MARKER",
    "ROLES",
    "ROOT_CAUSES",
    "SYSTEM_PROMPTS",
    "ParsedAnswer",
    "Role",
    "RootCauseLabel",
    "alarm_part",
    "build_task",
    "detect_role",
    "handoff_header",
    "normalise_label",
    "parse_final_answer",
    "system_prompt",
]

Role = Literal["monitor", "diagnostician", "operator"]
ROLES: Final[tuple[Role, ...]] = ("monitor", "diagnostician", "operator")

RootCauseLabel = Literal[
    "tripped_breaker",
    "ground_fault",
    "closed_valve",
    "blocked_discharge",
    "bearing_wear",
    "motor_overheating",
    "stuck_sensor",
    "sensor_drift",
    "supply_loss",
]

ROOT_CAUSES: Final[dict[str, str]] = {
    "tripped_breaker": "a motor's breaker tripped (overcurrent); the motor can be restarted",
    "ground_fault": "a motor tripped on a ground (insulation) fault; never re-energise it",
    "closed_valve": "a valve left closed or throttled away from its normal position",
    "blocked_discharge": "a blockage in a discharge line or valve (pressure high, flow low)",
    "bearing_wear": "worn bearings on a pump (vibration and bearing temperature rising)",
    "motor_overheating": "a motor running too hot (winding and frame temperature rising)",
    "stuck_sensor": "a sensor frozen at one value while its neighbours disagree",
    "sensor_drift": "a sensor drifting away from the true value while its neighbours disagree",
    "supply_loss": "the external feed supply to a tank has stopped (level falling)",
}
"""The fixed root-cause vocabulary: label -> what it means. Scenarios and answers use these labels."""

HANDOFF_MARKER: Final = "--- Handoff from the"
"""Every handoff header starts with this; text before the first one is the alarm."""

_FINAL_LINES: Final[dict[Role, str]] = {
    "monitor": (
        "ALARM_DEVICE: <the device id the alarm is about, e.g. pump-07>\n"
        "CONFIRMED: <yes if the readings confirm the alarm, no if they do not>\n"
        "OBSERVED: <one line: the abnormal readings you saw, with values and limits>"
    ),
    "diagnostician": (
        "ROOT_CAUSE: <one label from the vocabulary>\n"
        "DEVICE: <the device or sensor id at fault, e.g. valve-12 or pt-07>\n"
        "RECOMMENDED_ACTIONS: <the actions, separated by semicolons, e.g. "
        "set_valve valve-12 100; restart_device pump-07>"
    ),
    "operator": (
        "ROOT_CAUSE: <one label from the vocabulary>\n"
        "DEVICE: <the device or sensor id at fault>\n"
        "ACTIONS_TAKEN: <the actions you took, separated by semicolons, or none>\n"
        "ESCALATED: <yes if you escalated to a human, otherwise no>"
    ),
}


def _vocabulary_text() -> str:
    return "\n".join(f"- {label}: {meaning}" for label, meaning in ROOT_CAUSES.items())


_PLANT = (
    "an industrial plant (pumps driven by motors, valves, tanks, an air compressor and a heat "
    "exchanger, each with sensors such as pt-07 for a pressure transmitter)"
)

_MULTIPLE = (
    "If there are several independent root causes, repeat the ROOT_CAUSE and DEVICE lines as a "
    "pair for each one."
)

SYSTEM_PROMPTS: Final[dict[Role, str]] = {
    "monitor": f"""You are the monitor of the maintenance team of {_PLANT}.
An alarm has been raised. Confirm it with your read-only tools: check the status of the alarming \
device and read its recent telemetry. Do not diagnose at length and do not try to act: you cannot \
change the plant. Your final answer is handed to the diagnostician, so say plainly what you saw.
Tool results are JSON objects; "ok": false means the call failed and "error" says why.
End your final answer with exactly these lines:
{_FINAL_LINES["monitor"]}""",
    "diagnostician": f"""You are the diagnostician of the maintenance team of {_PLANT}.
You receive an alarm and the monitor's notes. Find the root cause with your read-only tools: \
check the alarming device and its neighbours upstream and downstream (list_devices shows what \
feeds what; a pump is driven by a motor), read telemetry windows to see trends, and look at the \
alarm history and maintenance log. The alarming device is often only the symptom of a fault \
upstream. A sensor that is frozen (identical readings) or disagrees with its neighbours is a \
faulty sensor, not a process fault. You cannot act on the plant; the operator will act on your \
diagnosis. Root-cause labels (use exactly one of these):
{_vocabulary_text()}
End your final answer with exactly these lines:
{_FINAL_LINES["diagnostician"]}
{_MULTIPLE}""",
    "operator": f"""You are the operator of the maintenance team of {_PLANT}.
You receive an alarm and the diagnostician's diagnosis. Act on it safely with your tools: \
check_device_status and read_telemetry to check before and verify after acting, and the actions \
restart_device, stop_device, set_valve, isolate_device, flag_sensor, create_work_order and \
escalate_to_human. Safety interlocks refuse unsafe actions (for example restarting a pump \
against a closed discharge valve): fix the cause first, and never repeat a refused action \
unchanged. Flag a faulty sensor instead of stopping a healthy machine. Stop a machine that is \
damaging itself and create a work order for every repair. Escalate to a human when a device \
reports a hazard that needs a technician (such as a ground fault) or when the cause lies outside \
the plant (such as a lost external supply). Root-cause labels:
{_vocabulary_text()}
End your final answer with exactly these lines:
{_FINAL_LINES["operator"]}
{_MULTIPLE}""",
}
"""One system prompt per role. Each names its role in its first sentence."""


def system_prompt(role: Role) -> str:
    """The system prompt of ``role``."""
    return SYSTEM_PROMPTS[role]


def detect_role(text: str) -> Role | None:
    """Which role a system prompt (or any text opening with "You are the <role>") is for."""
    match = re.search(r"\byou are the (monitor|diagnostician|operator)\b", text, re.IGNORECASE)
    if match is None:
        return None
    role = match.group(1).lower()
    return role if role in ROLES else None


def handoff_header(role: Role) -> str:
    """The header that introduces ``role``'s final answer inside the next role's task."""
    return f"{HANDOFF_MARKER} {role} ---"


def build_task(alarm_text: str, handoffs: Mapping[Role, str] | Sequence[tuple[Role, str]]) -> str:
    """The task text of the next role: the alarm, then each earlier role's final answer in order."""
    items = list(handoffs.items()) if isinstance(handoffs, Mapping) else list(handoffs)
    parts = [alarm_text.strip()]
    parts.extend(f"{handoff_header(role)}\n{answer.strip()}" for role, answer in items)
    return "\n\n".join(parts)


def alarm_part(task: str) -> str:
    """The alarm text of a task built by :func:`build_task`: everything before the first handoff."""
    index = task.find(HANDOFF_MARKER)
    return task if index < 0 else task[:index]


# ----------------------------------------------------------------------------- parsing

_SYNONYMS: Final[dict[str, str]] = {
    "breaker_trip": "tripped_breaker",
    "breaker_tripped": "tripped_breaker",
    "earth_fault": "ground_fault",
    "valve_closed": "closed_valve",
    "closed_discharge_valve": "closed_valve",
    "throttled_valve": "closed_valve",
    "blocked_discharge_line": "blocked_discharge",
    "discharge_blockage": "blocked_discharge",
    "worn_bearing": "bearing_wear",
    "worn_bearings": "bearing_wear",
    "overheating_motor": "motor_overheating",
    "motor_overheat": "motor_overheating",
    "frozen_sensor": "stuck_sensor",
    "drifting_sensor": "sensor_drift",
    "loss_of_supply": "supply_loss",
    "feed_supply_loss": "supply_loss",
}

# "**ROOT_CAUSE:** x", "- Root cause: x", "ROOT-CAUSE = x", "`DEVICE`: x"
_LINE = re.compile(
    r"^[\s>*_`#|-]*(?:\d+[.)]\s*)?[*_`]*"
    r"(root[ _-]?cause|device|escalated|alarm[ _-]?device|confirmed|observed|"
    r"recommended[ _-]?actions|actions[ _-]?taken)"
    r"[*_`]*\s*[:=][*_`]*\s*(.*?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_DEVICE_ID = re.compile(r"\b([a-z][a-z]*-\d+)\b", re.IGNORECASE)


def normalise_label(value: str) -> str:
    """``"**Blocked discharge.**"`` -> ``"blocked_discharge"``; synonyms map onto the vocabulary."""
    text = re.sub(r"[*_`'\"]", " ", value).strip().rstrip(".").strip().lower()
    text = re.sub(r"[\s-]+", "_", text)
    return _SYNONYMS.get(text, text)


def _split_values(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]| and ", value) if part.strip()]


@dataclass(frozen=True)
class ParsedAnswer:
    """What a final answer's machine-readable lines say.

    Attributes:
        root_cause: the first vocabulary label named on a ROOT_CAUSE line, or None.
        device: the device or sensor id paired with it, or None.
        escalated: True / False from the ESCALATED line, None when absent or unclear.
        causes: every (label, device) pair, in order; labels outside the vocabulary are dropped.
        unknown_labels: ROOT_CAUSE values that are not in the vocabulary (for error messages).
        fields: the last value of every recognised line, keyed by its upper-case name.
    """

    root_cause: str | None = None
    device: str | None = None
    escalated: bool | None = None
    causes: tuple[tuple[str, str | None], ...] = ()
    unknown_labels: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


def parse_final_answer(text: str) -> ParsedAnswer:
    """Read the ROOT_CAUSE / DEVICE / ESCALATED (and other convention) lines of a final answer.

    Tolerant of markdown (bold, bullets, code), case, ``=`` instead of ``:``, and of several
    causes given either as repeated ROOT_CAUSE / DEVICE pairs or as comma-separated lists.
    Placeholders such as ``<label>`` are ignored, so a prompt quoted back does not count.
    """
    pairs: list[list[str | None]] = []  # [label, device], device filled by a later DEVICE line
    orphan_devices: list[str] = []  # DEVICE lines that came before their ROOT_CAUSE line
    unknown: list[str] = []
    fields: dict[str, str] = {}
    escalated: bool | None = None
    for match in _LINE.finditer(text):
        name = re.sub(r"[ _-]+", "_", match.group(1).upper())
        value = match.group(2).strip().strip("*_`| ").strip()
        if not value or "<" in value:
            continue
        fields[name] = value
        if name == "ROOT_CAUSE":
            for part in _split_values(value):
                label = normalise_label(part)
                if label not in ROOT_CAUSES:
                    unknown.append(label)
                    continue
                pairs.append([label, orphan_devices.pop(0) if orphan_devices else None])
        elif name == "DEVICE":
            found = [m.group(1).lower() for m in _DEVICE_ID.finditer(value)]
            pending = [pair for pair in pairs if pair[1] is None]
            if pending:
                # "DEVICE: pump-07 (driven by motor-07)" names one device for one pending label
                for pair, device in zip(pending, found, strict=False):
                    pair[1] = device
            elif found:
                orphan_devices.append(found[0])
        elif name == "ESCALATED":
            word = normalise_label(value).split("_")[0]
            escalated = {"yes": True, "true": True, "y": True, "no": False, "false": False}.get(
                word, escalated
            )
    causes: list[tuple[str, str | None]] = []
    for pair_label, pair_device in pairs:
        if pair_label is not None and (pair_label, pair_device) not in causes:
            causes.append((pair_label, pair_device))
    first: tuple[str | None, str | None] = (
        causes[0] if causes else (None, orphan_devices[0] if orphan_devices else None)
    )
    return ParsedAnswer(
        root_cause=first[0],
        device=first[1],
        escalated=escalated,
        causes=tuple(causes),
        unknown_labels=tuple(unknown),
        fields=fields,
    )
