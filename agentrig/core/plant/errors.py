"""Turning pydantic validation errors on scenario and layout files into :class:`ScenarioError`.

A user who mistypes a scenario file should read one line naming the file, the field
(``faults[0].kind``) and what was expected there, not a pydantic dump.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agentrig.exceptions import ScenarioError

__all__ = ["expected_from_error", "field_path", "is_internal", "scenario_error_from_validation"]

_EXPECTED_BY_TYPE: dict[str, str] = {
    "missing": "a value: this field is required",
    "extra_forbidden": "no such field: remove it or check its spelling",
}


def field_path(location: tuple[int | str, ...]) -> str:
    """``("faults", 0, "kind")`` -> ``"faults[0].kind"``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def expected_from_error(error: Any) -> str:
    """What was expected where one pydantic error (an item of ``errors()``) points."""
    kind = error.get("type", "")
    if kind in _EXPECTED_BY_TYPE:
        return _EXPECTED_BY_TYPE[kind]
    message = str(error.get("msg", "a valid value"))
    message = message.removeprefix("Value error, ").removeprefix("Input should be ")
    given = error.get("input")
    if isinstance(given, (dict, list)) or given is None:
        return message
    return f"{message} (got {given!r})"


def scenario_error_from_validation(path: str, error: ValidationError) -> ScenarioError:
    """The first validation error of ``error`` as a ScenarioError for the file ``path``."""
    first = error.errors(include_url=False)[0]
    location = tuple(part for part in first.get("loc", ()) if not is_internal(part))
    return ScenarioError(path, field_path(location), expected_from_error(first))


def is_internal(part: int | str) -> bool:
    # pydantic names union and tagged-union branches in locations ("function-after[...]");
    # they say nothing to someone editing a YAML file.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))
