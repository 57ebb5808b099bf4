"""Every kind of response validates against OpenAI's published OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from agentrig.core.llm.faults import FaultKind, FaultProfile
from agentrig.core.llm.serving import ReferenceModelServer

from .conftest import ALARM, SYSTEM, TOOLS

Validate = Callable[[str, Any], None]
MODEL = "agentrig-operator"
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ALARM}]
TOOL_REQUEST = {"model": MODEL, "messages": MESSAGES, "tools": TOOLS}
TEXT_REQUEST = {"model": MODEL, "messages": MESSAGES}


@pytest.fixture
def http(server: ReferenceModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url) as client:
        yield client


def _sse_chunks(response: httpx.Response) -> list[Any]:
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def test_the_validator_rejects_what_the_spec_forbids(validate_spec: Validate) -> None:
    good = {"error": {"message": "m", "type": "t", "param": None, "code": None}}
    validate_spec("ErrorResponse", good)
    with pytest.raises(jsonschema.ValidationError):
        validate_spec("ErrorResponse", {"error": {"message": "m", "type": "t"}})
    with pytest.raises(jsonschema.ValidationError):  # message.refusal is required
        validate_spec(
            "CreateChatCompletionResponse",
            {
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": "hi"},
                    }
                ],
            },
        )


@pytest.mark.parametrize(
    "body",
    [
        TEXT_REQUEST,
        TOOL_REQUEST,
        {**TOOL_REQUEST, "max_tokens": 4},
        {**TEXT_REQUEST, "response_format": {"type": "json_object"}},
    ],
    ids=["text", "tool-calls", "truncated", "json"],
)
def test_completions_validate(http: httpx.Client, validate_spec: Validate, body: Any) -> None:
    response = http.post("/chat/completions", json=body)
    assert response.status_code == 200
    validate_spec("CreateChatCompletionResponse", response.json())


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("body", [TEXT_REQUEST, TOOL_REQUEST], ids=["text", "tool-calls"])
def test_every_stream_chunk_validates(
    http: httpx.Client, validate_spec: Validate, body: Any, include_usage: bool
) -> None:
    streamed = {**body, "stream": True, "stream_options": {"include_usage": include_usage}}
    chunks = _sse_chunks(http.post("/chat/completions", json=streamed))
    assert len(chunks) > 3
    for chunk in chunks:
        validate_spec("CreateChatCompletionStreamResponse", chunk)
    assert (chunks[-1]["choices"] == []) is include_usage


def test_models_validate(http: httpx.Client, validate_spec: Validate) -> None:
    listing = http.get("/models").json()
    validate_spec("ListModelsResponse", listing)
    assert len(listing["data"]) == 3
    validate_spec("Model", http.get("/models/agentrig-operator-sloppy").json())


def test_errors_validate(http: httpx.Client, validate_spec: Validate) -> None:
    responses = [
        http.post("/chat/completions", json={"model": MODEL}),
        http.post("/chat/completions", json={"model": "nope", "messages": MESSAGES}),
        http.post(
            "/chat/completions",
            json={
                "model": MODEL,
                "messages": [*MESSAGES, {"role": "tool", "tool_call_id": "x", "content": ""}],
            },
        ),
        http.get("/nowhere"),
    ]
    assert [r.status_code for r in responses] == [400, 404, 422, 404]
    for response in responses:
        validate_spec("ErrorResponse", response.json())


@pytest.mark.parametrize(
    ("kind", "stream"),
    [
        (FaultKind.RATE_LIMIT, False),
        (FaultKind.SERVER_ERROR, False),
        (FaultKind.UNAVAILABLE, False),
        (FaultKind.TRUNCATED, False),
        (FaultKind.TRUNCATED, True),
        (FaultKind.MALFORMED_TOOL_ARGUMENTS, False),
        (FaultKind.MALFORMED_TOOL_ARGUMENTS, True),
        (FaultKind.UNKNOWN_TOOL, False),
        (FaultKind.EMPTY_CHOICES, False),
        (FaultKind.EMPTY_CHOICES, True),
    ],
)
def test_fault_bodies_validate(
    make_server: Callable[..., ReferenceModelServer],
    validate_spec: Validate,
    kind: FaultKind,
    stream: bool,
) -> None:
    server = make_server(faults=FaultProfile(name=kind.value, rates={kind: 1.0}))
    body = {**TOOL_REQUEST, "stream": stream, "stream_options": {"include_usage": True}}
    if not stream:
        del body["stream_options"]
    with httpx.Client(base_url=server.base_url) as http:
        response = http.post("/chat/completions", json=body)
    assert response.headers["x-agentrig-fault"] == kind.value
    assert server.fault_counts()[kind.value] == 1
    if response.status_code != 200:
        validate_spec("ErrorResponse", response.json())
    elif stream:
        for chunk in _sse_chunks(response):
            validate_spec("CreateChatCompletionStreamResponse", chunk)
    else:
        validate_spec("CreateChatCompletionResponse", response.json())


def test_the_spec_is_the_repositorys_own_copy_with_its_license() -> None:
    from .conftest import SPEC_PATH

    repository = Path(__file__).resolve().parents[3]
    assert SPEC_PATH.is_relative_to(repository / "tests")  # a fresh clone has it
    assert SPEC_PATH.is_file()
    assert "MIT License" in SPEC_PATH.with_suffix(".LICENSE").read_text(encoding="utf-8")
    assert json.loads(SPEC_PATH.read_text(encoding="utf-8"))["info"]["title"] == "OpenAI API"
