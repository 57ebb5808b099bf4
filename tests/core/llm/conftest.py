"""Fixtures of the reference-model tests: a scripted brain, running servers, the OpenAI spec."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.llm.serving import ReferenceModelServer

# A copy in the repository (spec/README.md says where it came from), so a fresh clone has it.
SPEC_PATH = Path(__file__).resolve().parent / "spec" / "openai-openapi.json"
DEVICE = re.compile(r"\b[a-z]+-\d+\b")

STATUS_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "check_device_status",
        "description": "Status of one device.",
        "parameters": {
            "type": "object",
            "properties": {"device_id": {"type": "string"}},
            "required": ["device_id"],
            "additionalProperties": False,
        },
    },
}
TELEMETRY_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "read_telemetry",
        "description": "Recent readings of one device.",
        "parameters": {
            "type": "object",
            "properties": {"device_id": {"type": "string"}, "window": {"type": "integer"}},
            "required": ["device_id"],
        },
    },
}
TOOLS = [STATUS_TOOL, TELEMETRY_TOOL]
SYSTEM = "You are the monitor of the maintenance team of a plant."
ALARM = "ALARM: pump-07 discharge pressure high (9.1 bar, limit 8.0)."


def scripted_decide(inp: PolicyInput, skill: Skill) -> Decision:
    """A tiny stand-in policy: check status and telemetry of the alarming device, then answer.

    At reduced skill (``investigate=False``) it answers straight away, like the hasty persona.
    """
    found = DEVICE.search(inp.task)
    device = found.group() if found else "unknown-0"
    done = {o.tool for o in inp.observations}
    wanted = [
        ToolRequest(tool, {"device_id": device})
        for tool in ("check_device_status", "read_telemetry")
        if tool in inp.tools and tool not in done
    ]
    if wanted and skill.investigate:
        return wanted
    seen = "; ".join(
        f"{o.tool} -> {json.dumps(o.result, sort_keys=True)}" for o in inp.observations
    )
    return FinalAnswer(
        f"I am the {inp.role}. Observed: {seen or 'nothing'}.\n"
        f"ROOT_CAUSE: blocked_discharge\nDEVICE: {device}\nESCALATED: no"
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceModelServer]:
    """A fault-free reference model with the scripted brain, shared by a test module."""
    with ReferenceModelServer(decide=scripted_decide) as running:
        yield running


@pytest.fixture
def make_server() -> Iterator[Callable[..., ReferenceModelServer]]:
    """Start servers with given options (scripted brain by default); all stopped after the test."""
    started: list[ReferenceModelServer] = []

    def start(**options: Any) -> ReferenceModelServer:
        options.setdefault("decide", scripted_decide)
        running = ReferenceModelServer(**options).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def _nullable_to_json_schema(node: Any) -> Any:
    # The published document is OpenAPI 3.1 but some schemas still use 3.0's `nullable: true`,
    # which JSON Schema ignores: express it as "or null" so a spec-valid `null` validates.
    if isinstance(node, dict):
        node = {key: _nullable_to_json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False) is True:
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    return node


@cache
def _spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return _nullable_to_json_schema(document)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def validate_spec() -> Callable[[str, Any], None]:
    """validate_spec("CreateChatCompletionResponse", body): raise if body breaks OpenAI's schema."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    if not SPEC_PATH.exists():
        pytest.fail(f"the OpenAI spec is missing at {SPEC_PATH}")
    resource = Resource.from_contents(copy.deepcopy(_spec()), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openai-spec", resource)
    validators: dict[str, Draft202012Validator] = {}

    def validate(schema_name: str, instance: Any) -> None:
        if schema_name not in validators:
            ref = {"$ref": f"urn:openai-spec#/components/schemas/{schema_name}"}
            validators[schema_name] = Draft202012Validator(ref, registry=registry)
        validators[schema_name].validate(instance)

    return validate
