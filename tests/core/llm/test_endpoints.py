"""Model endpoints from --model strings; keys stay secret; reference endpoints start a server."""

from __future__ import annotations

import logging

import openai
import pytest
import structlog

from agentrig.core.llm.endpoints import (
    ModelEndpoint,
    parse_model_spec,
    shared_reference_server,
    stop_shared_reference_servers,
)
from agentrig.exceptions import ConfigurationError

KEY = "sk-proj-very-secret-0123456789"


@pytest.mark.parametrize(
    ("spec", "provider", "model", "base_url"),
    [
        ("reference", "reference", "agentrig-operator", None),
        ("reference:hasty", "reference", "agentrig-operator-hasty", None),
        ("reference:sloppy", "reference", "agentrig-operator-sloppy", None),
        ("agentrig-operator-sloppy", "reference", "agentrig-operator-sloppy", None),
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini", "https://api.openai.com/v1"),
        ("ollama:llama3.1", "ollama", "llama3.1", "http://localhost:11434/v1"),
        ("vllm:Qwen/Qwen2.5-7B", "vllm", "Qwen/Qwen2.5-7B", "http://localhost:8000/v1"),
        ("lmstudio:qwen2.5", "lmstudio", "qwen2.5", "http://localhost:1234/v1"),
        ("http://gpu-box:8000/v1/#my-model", "url", "my-model", "http://gpu-box:8000/v1"),
    ],
)
def test_specs_parse(spec: str, provider: str, model: str, base_url: str | None) -> None:
    endpoint = parse_model_spec(spec, env={"OPENAI_API_KEY": KEY})
    assert (endpoint.provider, endpoint.model, endpoint.base_url) == (provider, model, base_url)
    assert endpoint.spec == spec


def test_keys_and_urls_come_from_the_environment() -> None:
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": "https://proxy.example/v1",
        "OLLAMA_HOST": "gpu:11434",
    }
    openai_endpoint = parse_model_spec("openai:gpt-4o-mini", env=env)
    assert openai_endpoint.base_url == "https://proxy.example/v1"
    assert openai_endpoint.client_options()["api_key"] == KEY
    assert parse_model_spec("ollama:llama3.1", env=env).base_url == "http://gpu:11434/v1"
    url = parse_model_spec("https://h/v1#m", env={"AGENTRIG_MODEL_API_KEY": KEY})
    assert url.client_options()["api_key"] == KEY


def test_options_in_the_spec() -> None:
    endpoint = parse_model_spec("reference:hasty?timeout=2.5&max_retries=5")
    assert (endpoint.timeout, endpoint.max_retries) == (2.5, 5)
    assert parse_model_spec("reference").timeout == 10.0  # an instant server: fail fast
    assert parse_model_spec("ollama:x").timeout == 60.0


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("openai:gpt-4o-mini", "set OPENAI_API_KEY"),
        ("reference:lazy", "reference:hasty, reference:sloppy"),
        ("anthropic:claude", "unknown provider 'anthropic'"),
        ("ollama:", "name the model"),
        ("http://host:8000/v1", "name the model after '#'"),
        ("reference?temperature=1", "unknown option 'temperature'"),
        ("reference?timeout=soon", "is not a number"),
    ],
)
def test_bad_specs_say_what_to_do(spec: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError, match="--model") as caught:
        parse_model_spec(spec, env={})
    assert fragment in str(caught.value)


def test_secrets_never_show(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = parse_model_spec("openai:gpt-4o-mini", env={"OPENAI_API_KEY": KEY})
    assert KEY not in repr(endpoint)
    assert KEY not in str(endpoint)
    assert KEY not in endpoint.model_dump_json()
    assert KEY not in str(endpoint.model_dump())
    with caplog.at_level(logging.DEBUG):
        structlog.get_logger("test").info("endpoint", endpoint=endpoint)
        logging.getLogger("test").info("endpoint %s %r", endpoint, endpoint)
    printed = capsys.readouterr()
    assert "endpoint" in caplog.text + printed.out + printed.err  # the logs were written
    assert KEY not in caplog.text + printed.out + printed.err
    assert endpoint.api_key is not None
    assert endpoint.api_key.get_secret_value() == KEY


def test_a_reference_endpoint_resolves_to_a_running_shared_server() -> None:
    server = shared_reference_server()
    try:
        endpoint = parse_model_spec("reference:hasty")
        with pytest.raises(ConfigurationError, match="resolve"):
            endpoint.client_options()
        resolved = endpoint.resolve()
        assert resolved.base_url == server.base_url
        assert resolved.resolve() is resolved
        assert parse_model_spec("reference").resolve().base_url == resolved.base_url
        assert parse_model_spec("reference").resolve(faults="flaky").base_url != resolved.base_url
        with openai.OpenAI(**resolved.client_options()) as client:
            assert [m.id for m in client.models.list()][1] == "agentrig-operator-hasty"
    finally:
        stop_shared_reference_servers()
    assert not server.running


def test_endpoints_are_immutable() -> None:
    endpoint = ModelEndpoint(provider="url", model="m", base_url="http://h/v1")
    with pytest.raises(ValueError, match="frozen"):
        endpoint.model = "other"  # type: ignore[misc]
