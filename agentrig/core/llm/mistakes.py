"""The mistakes real models make in tool calls, applied on purpose (sloppy persona, faults).

Each takes a well-formed call and returns the slipped version, or None when the slip does not apply
to that call (no device argument to mistype, no required argument to forget).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "MistakeKind",
    "SlippedCall",
    "forget_argument",
    "hallucinate_tool",
    "malform_arguments",
    "mistype_device",
    "slip",
]

_DEVICE_ID = re.compile(r"^([A-Za-z][A-Za-z0-9]*)-(\d+[A-Za-z]?)$")
# Plausible wrong verbs, as models invent them: get_device_status for check_device_status.
_VERB_SWAPS = {
    "check": "get",
    "get": "fetch",
    "read": "get",
    "list": "get_all",
    "restart": "reboot",
    "stop": "shutdown",
    "set": "adjust",
    "isolate": "lockout",
    "flag": "mark",
    "create": "open",
    "escalate": "notify",
}


class MistakeKind(StrEnum):
    WRONG_DEVICE = "wrong_device"
    MISSING_ARGUMENT = "missing_argument"
    UNKNOWN_TOOL = "unknown_tool"
    MALFORMED_ARGUMENTS = "malformed_arguments"


@dataclass(frozen=True)
class SlippedCall:
    tool: str
    arguments_json: str  # what goes on the wire; not valid JSON after MALFORMED_ARGUMENTS


def _dumps(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, separators=(", ", ": "))


def mistype_device(tool: str, arguments: dict[str, Any]) -> SlippedCall | None:
    """``pump-07`` -> ``pump-7`` (``pump-11`` -> ``pump-011``): an id half-remembered.

    Not ``pump_07``: the plant reads that as ``pump-07``. None when no argument is an id.
    """
    for key, value in arguments.items():
        if isinstance(value, str):
            match = _DEVICE_ID.match(value)
            if match:
                prefix, number = match.groups()
                wrong_number = (
                    number[1:] if number.startswith("0") and len(number) > 1 else f"0{number}"
                )
                return SlippedCall(tool, _dumps({**arguments, key: f"{prefix}-{wrong_number}"}))
    return None


def forget_argument(
    tool: str, arguments: dict[str, Any], required: Sequence[str]
) -> SlippedCall | None:
    """The call without its first required argument. None when it has no required argument."""
    for name in required:
        if name in arguments:
            return SlippedCall(tool, _dumps({k: v for k, v in arguments.items() if k != name}))
    return None


def hallucinate_tool(tool: str, offered: Collection[str]) -> str:
    """A plausible tool name that is not offered (``check_x`` -> ``get_x``)."""
    verb, _, rest = tool.partition("_")
    candidates = []
    if verb in _VERB_SWAPS and rest:
        candidates.append(f"{_VERB_SWAPS[verb]}_{rest}")
    candidates += [f"{tool}_v2", f"do_{tool}", f"{tool}_tool"]
    return next(name for name in candidates if name not in offered)


def malform_arguments(arguments: dict[str, Any]) -> str:
    """Python's repr instead of JSON (single quotes, True/None): the classic malformed call."""
    return repr(arguments) if arguments else "{"


def slip(
    kind: MistakeKind,
    tool: str,
    arguments: dict[str, Any],
    *,
    required: Sequence[str],
    offered: Collection[str],
) -> SlippedCall | None:
    """Apply one kind of mistake to a call; None when that kind does not apply to it."""
    if kind is MistakeKind.WRONG_DEVICE:
        return mistype_device(tool, arguments)
    if kind is MistakeKind.MISSING_ARGUMENT:
        return forget_argument(tool, arguments, required)
    if kind is MistakeKind.UNKNOWN_TOOL:
        return SlippedCall(hallucinate_tool(tool, offered), _dumps(arguments))
    return SlippedCall(tool, malform_arguments(arguments))
