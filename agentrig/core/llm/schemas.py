"""Values that fit a JSON schema, filled from what the model has to say.

Used for ``response_format`` (``json_object`` and ``json_schema``: the final answer as JSON valid
for the caller's schema) and for a tool call forced by ``tool_choice`` when the policy had nothing
to call (its required arguments filled from the conversation).

A final answer ends with ``KEY: value`` lines (``ROOT_CAUSE: bearing_wear``, ``DEVICE: pump-07``,
``ESCALATED: no``); a schema property takes the value whose key matches its name (case and
underscores aside, ``device`` also matching ``device_id``); other strings get the whole answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["answer_fields", "instance_for_schema", "json_answer"]

_FIELD_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _-]{0,40}?)\s*:\s*(.+?)\s*$", re.MULTILINE)
_MAX_DEPTH = 8


def answer_fields(text: str) -> dict[str, str]:
    """The ``KEY: value`` lines of an answer, keys normalised (lowercase, no spaces/underscores)."""
    fields: dict[str, str] = {}
    for key, value in _FIELD_LINE.findall(text):
        fields.setdefault(_normal(key), value)
    return fields


def _normal(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).lower()


def _hint(name: str, fields: dict[str, str]) -> str | None:
    key = _normal(name)
    if key in fields:
        return fields[key]
    for field_key, value in fields.items():
        if field_key and (key.startswith(field_key) or field_key.startswith(key)):
            return value
    return None


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    return schema


def instance_for_schema(
    schema: dict[str, Any],
    *,
    text: str,
    fields: dict[str, str] | None = None,
    name: str = "",
    root: dict[str, Any] | None = None,
    depth: int = 0,
) -> Any:
    """A value valid for ``schema`` (objects, arrays, enums, anyOf, $ref), filled from the answer."""
    root = root if root is not None else schema
    fields = fields if fields is not None else answer_fields(text)
    schema = _resolve(schema, root)
    hint = _hint(name, fields) if name else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        options = schema["enum"]
        if hint is not None:
            for option in options:
                if _normal(str(option)) == _normal(hint):
                    return option
        return options[0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            usable = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
            branch = usable[0] if usable else branches[0]
            return instance_for_schema(
                branch, text=text, fields=fields, name=name, root=root, depth=depth
            )
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if depth >= _MAX_DEPTH and kind in ("object", "array"):
        return {} if kind == "object" else []
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            prop: instance_for_schema(
                sub, text=text, fields=fields, name=prop, root=root, depth=depth + 1
            )
            for prop, sub in properties.items()
            if isinstance(sub, dict)
        }
    if kind == "array":
        items = schema.get("items", {})
        count = max(int(schema.get("minItems", 0)), 1 if hint else 0)
        return [
            instance_for_schema(
                items if isinstance(items, dict) else {},
                text=text,
                fields=fields,
                name=name,
                root=root,
                depth=depth + 1,
            )
            for _ in range(count)
        ]
    if kind == "boolean":
        return hint is not None and hint.strip().lower() in ("yes", "true", "y", "1")
    if kind in ("integer", "number"):
        number = _number(hint)
        minimum = schema.get("minimum", schema.get("exclusiveMinimum"))
        if number is None:
            number = minimum if isinstance(minimum, int | float) else 0
        return int(number) if kind == "integer" else float(number)
    if kind == "null":
        return None
    value = hint if hint is not None else text
    max_length = schema.get("maxLength")
    return value[:max_length] if isinstance(max_length, int) else value


def _number(hint: str | None) -> float | None:
    if hint is None:
        return None
    match = re.search(r"-?\d+(?:\.\d+)?", hint)
    return float(match.group()) if match else None


def json_answer(text: str, schema: dict[str, Any] | None) -> str:
    """The answer as JSON: valid for ``schema`` when given, else an object of its fields."""
    if schema:
        value = instance_for_schema(schema, text=text)
    else:
        value = {"answer": text}
        for key, field_value in _FIELD_LINE.findall(text):
            value.setdefault(re.sub(r"[\s-]+", "_", key).lower(), field_value)
    return json.dumps(value, ensure_ascii=False)
