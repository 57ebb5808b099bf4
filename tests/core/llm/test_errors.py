"""Invalid requests get OpenAI's error JSON with the right status, and the client the right error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from agentrig.core.llm.serving import ReferenceModelServer

from .conftest import ALARM, SYSTEM

MODEL = "agentrig-operator"
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ALARM}]


@pytest.fixture
def http(server: ReferenceModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url) as client:
        yield client


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"messages": MESSAGES}, "model", "Missing required parameter"),
        ({"model": MODEL}, "messages", "Missing required parameter"),
        ({"model": MODEL, "messages": []}, "messages", "at least 1"),
        (
            {"model": MODEL, "messages": [{"role": "robot", "content": "hi"}]},
            "messages[0].role",
            "Invalid value",
        ),
        ({"model": MODEL, "messages": MESSAGES, "temperature": 3}, "temperature", "less than"),
        ({"model": MODEL, "messages": MESSAGES, "max_tokens": 0}, "max_tokens", "greater than"),
        (
            {"model": MODEL, "messages": MESSAGES, "tools": [{"type": "function"}]},
            "tools[0].function",
            "Missing required parameter",
        ),
        (
            {
                "model": MODEL,
                "messages": MESSAGES,
                "tools": [{"type": "function", "function": {"name": "bad name!"}}],
            },
            "tools[0].function.name",
            "pattern",
        ),
        (
            {"model": MODEL, "messages": MESSAGES, "tool_choice": "sometimes"},
            "tool_choice",
            "Invalid value",
        ),
        ({"model": MODEL, "messages": MESSAGES, "n": 2}, "n", "one choice"),
        (
            {"model": MODEL, "messages": MESSAGES, "logprobs": True},
            "logprobs",
            "does not return log probabilities",
        ),
        (
            {"model": MODEL, "messages": MESSAGES, "logprobs": True, "top_logprobs": 3},
            "logprobs",
            "does not return log probabilities",
        ),
        (
            {"model": MODEL, "messages": MESSAGES, "top_logprobs": 3},
            "top_logprobs",
            "does not return log probabilities",
        ),
        (
            {"model": MODEL, "messages": MESSAGES, "response_format": {"type": "json_schema"}},
            "response_format.json_schema",
            "Missing required parameter",
        ),
    ],
)
def test_invalid_parameters_are_400_naming_the_parameter(
    http: httpx.Client, body: dict[str, Any], param: str, fragment: str
) -> None:
    error = _error(http.post("/chat/completions", json=body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fragment in error["message"]


def test_a_body_that_is_not_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert "could not parse the JSON body" in _error(response, 400)["message"]
    assert "JSON object" in _error(http.post("/chat/completions", json=[1, 2]), 400)["message"]


def test_unknown_model_is_404_model_not_found(
    http: httpx.Client, server: ReferenceModelServer
) -> None:
    error = _error(
        http.post("/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES}), 404
    )
    assert error["code"] == "model_not_found"
    assert "agentrig-operator" in error["message"]
    assert _error(http.get("/models/gpt-4o"), 404)["code"] == "model_not_found"
    with (
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as client,
        pytest.raises(openai.NotFoundError),
    ):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]


def test_unknown_route_and_method_are_openai_errors(http: httpx.Client) -> None:
    assert _error(http.get("/embeddings"), 404)["code"] == "unknown_url"
    assert _error(http.get("/chat/completions"), 405)["code"] == "method_not_allowed"


def test_a_tool_message_answering_no_call_is_422(
    http: httpx.Client, server: ReferenceModelServer
) -> None:
    messages = [*MESSAGES, {"role": "tool", "tool_call_id": "call_nowhere", "content": "{}"}]
    error = _error(http.post("/chat/completions", json={"model": MODEL, "messages": messages}), 422)
    assert error["param"] == "messages[2].tool_call_id"
    with (
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as client,
        pytest.raises(openai.UnprocessableEntityError),
    ):
        client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]


def test_a_body_over_the_limit_is_413(make_server: Callable[..., ReferenceModelServer]) -> None:
    server = make_server()
    limit = server.app.settings.max_body_bytes
    big = {"model": MODEL, "messages": [{"role": "user", "content": "x" * (limit + 10)}]}
    with httpx.Client(base_url=server.base_url) as http:
        error = _error(http.post("/chat/completions", json=big), 413)
        assert error["code"] == "request_too_large"

        def chunked() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
            yield b'{"model": "agentrig-operator", "messages": [{"role": "user", "content": "'
            for _ in range(limit // 65536 + 2):
                yield b"x" * 65536
            yield b'"}]}'

        assert _error(http.post("/chat/completions", content=chunked()), 413)["code"] == (
            "request_too_large"
        )


def test_a_required_key_is_checked(make_server: Callable[..., ReferenceModelServer]) -> None:
    server = make_server(api_key="s3cret-key")
    with httpx.Client(base_url=server.base_url) as http:
        body = {"model": MODEL, "messages": MESSAGES}
        assert _error(http.post("/chat/completions", json=body), 401)["code"] == "missing_api_key"
        wrong = {"authorization": "Bearer nope"}
        assert _error(http.post("/chat/completions", json=body, headers=wrong), 401)["code"] == (
            "invalid_api_key"
        )
        assert _error(http.get("/models"), 401)["code"] == "missing_api_key"
        assert _error(http.get("/faults"), 401)["code"] == "missing_api_key"
        assert (
            http.get("/models", headers={"authorization": "Bearer s3cret-key"}).status_code == 200
        )
    with (
        openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.models.list()
    with openai.OpenAI(base_url=server.base_url, api_key="s3cret-key", max_retries=0) as client:
        assert client.chat.completions.create(model=MODEL, messages=MESSAGES).choices  # type: ignore[arg-type]
    assert "s3cret" not in repr(server) + repr(server.app.settings)


def test_a_failing_brain_is_a_500_in_openais_shape(
    make_server: Callable[..., ReferenceModelServer],
) -> None:
    def broken(inp: Any, skill: Any) -> Any:
        raise RuntimeError("the policy tripped")

    server = make_server(decide=broken)
    with httpx.Client(base_url=server.base_url) as http:
        error = _error(
            http.post("/chat/completions", json={"model": MODEL, "messages": MESSAGES}), 500
        )
    assert error["type"] == "server_error"
    assert "RuntimeError: the policy tripped" in error["message"]


def test_logprobs_false_is_answered_and_logprobs_true_is_a_bad_request_for_the_client(
    server: ReferenceModelServer,
) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as client:
        answered = client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,  # type: ignore[arg-type]
            logprobs=False,
        )
        assert answered.choices[0].message.content
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,  # type: ignore[arg-type]
                logprobs=True,
            )
    assert refused.value.status_code == 400
    assert refused.value.param == "logprobs"
    assert refused.value.code == "unsupported_value"


@pytest.mark.parametrize("spec", ["banana", "-5s", "5 parsecs"])
def test_a_bad_latency_header_is_400_naming_the_header(http: httpx.Client, spec: str) -> None:
    response = http.post(
        "/chat/completions",
        json={"model": MODEL, "messages": MESSAGES},
        headers={"x-agentrig-latency": spec},
    )
    error = _error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "X-Agentrig-Latency"
    assert error["code"] == "invalid_latency_header"
    assert f"invalid latency spec {spec!r}" in error["message"]
    assert "400ms+15ms/token~30%" in error["message"]  # how to write a good one
