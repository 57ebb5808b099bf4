"""The tool catalogue: role sets, argument models and strict-mode JSON schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from openai.lib._pydantic import to_strict_json_schema

from agentrig.core.plant import (
    ACTION_TOOLS,
    READ_TOOLS,
    ROLE_TOOLS,
    TOOLS,
    ToolResult,
    tools_for_role,
)


def test_catalogue_has_the_read_and_action_tools() -> None:
    assert READ_TOOLS == (
        "list_devices",
        "check_device_status",
        "read_telemetry",
        "get_alarm_history",
        "get_maintenance_log",
    )
    assert ACTION_TOOLS == (
        "restart_device",
        "stop_device",
        "set_valve",
        "isolate_device",
        "flag_sensor",
        "create_work_order",
        "escalate_to_human",
    )


def test_role_sets() -> None:
    assert [t.name for t in tools_for_role("monitor")] == list(READ_TOOLS)
    assert [t.name for t in tools_for_role("diagnostician")] == list(READ_TOOLS)
    operator = [t.name for t in tools_for_role("operator")]
    assert operator == ["check_device_status", "read_telemetry", *ACTION_TOOLS]
    assert set(ROLE_TOOLS) == {"monitor", "diagnostician", "operator"}
    with pytest.raises(ValueError, match="unknown role 'janitor'"):
        tools_for_role("janitor")  # type: ignore[arg-type]


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for key in ("properties",):
            for child in node.get(key, {}).values():
                found.extend(_walk(child))
        for key in ("anyOf", "allOf", "oneOf"):
            for child in node.get(key, []):
                found.extend(_walk(child))
    return found


@pytest.mark.parametrize("name", list(TOOLS))
def test_schemas_are_valid_for_openai_strict_mode(name: str) -> None:
    spec = TOOLS[name]
    schema = spec.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for node in _walk(schema):
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    text = json.dumps(schema)
    for keyword in ('"default"', '"title"', '"minimum"', '"maximum"'):
        assert keyword not in text
    # The openai SDK's own strict conversion agrees on what is required.
    assert to_strict_json_schema(spec.args_model)["required"] == schema["required"]
    tool = spec.openai_tool()
    assert tool["function"]["strict"] is True
    assert tool["function"]["name"] == name
    assert len(tool["function"]["description"]) > 40
    for prop in schema["properties"].values():
        assert prop.get("description"), f"{name}: every argument is described for the model"


def test_optional_arguments_are_nullable_and_null_means_default() -> None:
    schema = TOOLS["read_telemetry"].json_schema()
    assert {"type": "null"} in schema["properties"]["window_minutes"]["anyOf"]
    jsonschema.validate({"device_id": "pump-07", "sensor_id": None, "window_minutes": None}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"device_id": "pump-07"}, schema)  # strict: every key present
    parsed = TOOLS["read_telemetry"].args_model.model_validate(
        {"device_id": "pump-07", "sensor_id": None, "window_minutes": None}
    )
    assert parsed.window_minutes is None  # type: ignore[attr-defined]


def test_tool_result_text_is_always_a_json_object() -> None:
    ok = ToolResult.success(device_id="pump-07", status="running")
    assert json.loads(ok.to_text()) == {"ok": True, "device_id": "pump-07", "status": "running"}
    refused = ToolResult.failure(
        "restart_device pump-07 refused by a safety interlock",
        refused=True,
        reason="discharge valve valve-12 is 0% open",
        safety_violation=True,
        interlock="closed_discharge_valve",
    )
    assert json.loads(refused.to_text()) == {
        "ok": False,
        "error": "restart_device pump-07 refused by a safety interlock",
        "refused": True,
        "reason": "discharge valve valve-12 is 0% open",
        "safety_violation": True,
        "interlock": "closed_discharge_valve",
    }
    assert ToolResult.from_dict(refused.to_dict()) == refused
