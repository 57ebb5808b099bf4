"""Each injected fault reaches the openai client as the right exception or behaviour; counted."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from agentrig.core.llm.faults import FAULT_PROFILES, FaultInjector, FaultKind, FaultProfile
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.exceptions import ConfigurationError

from .conftest import ALARM, SYSTEM, TOOLS

MODEL = "agentrig-operator"
MESSAGES: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ALARM}]
StartServer = Callable[..., ReferenceModelServer]


def _always(kind: FaultKind, **options: Any) -> FaultProfile:
    return FaultProfile(name=f"always-{kind.value}", rates={kind: 1.0}, **options)


def _client(server: ReferenceModelServer, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url, api_key="unused", **options)


def test_rate_limit_is_a_429_with_retry_after(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.RATE_LIMIT, retry_after_seconds=1.5))
    with _client(server) as client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.response.headers["retry-after-ms"] == "1500"
    assert caught.value.code == "rate_limit_exceeded"
    assert server.fault_counts()["rate_limit"] == 1


def test_the_client_honours_retry_after_and_gets_through(make_server: StartServer) -> None:
    profile = FaultProfile(
        name="limited", rates={FaultKind.RATE_LIMIT: 0.6}, retry_after_seconds=0.25
    )
    server = make_server(faults=profile, seed=7)
    started = time.monotonic()
    with _client(server, max_retries=6) as client:
        reply = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    elapsed = time.monotonic() - started
    limited = server.fault_counts()["rate_limit"]
    assert limited == 2  # seed 7 draws two 429s for this request, then lets it through
    assert reply.headers.get("x-agentrig-fault") is None
    assert reply.http_request.headers["x-stainless-retry-count"] == str(limited)
    # the client waited the server's 0.25 s each time; its own backoff would take >= 1.1 s here
    assert limited * 0.25 <= elapsed < limited * 0.25 + 0.55


@pytest.mark.parametrize(
    ("kind", "status"), [(FaultKind.SERVER_ERROR, 500), (FaultKind.UNAVAILABLE, 503)]
)
def test_server_errors_are_internal_server_errors(
    make_server: StartServer, kind: FaultKind, status: int
) -> None:
    server = make_server(faults=_always(kind))
    with _client(server) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert caught.value.status_code == status
    assert server.fault_counts()[kind.value] == 1


def test_connection_reset_is_an_api_connection_error(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.CONNECTION_RESET))
    with (
        _client(server, max_retries=1) as client,
        pytest.raises(openai.APIConnectionError) as caught,
    ):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert server.fault_counts()["connection_reset"] == 2  # the first try and one retry
    # the server itself is fine afterwards
    with httpx.Client() as http:
        assert http.get(f"{server.url}/health").json() == {"status": "ok"}


def test_timeout_waits_past_the_clients_timeout(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.TIMEOUT, timeout_margin_seconds=0.5))
    started = time.monotonic()
    with _client(server, timeout=0.3) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert 0.3 <= time.monotonic() - started < 2.0
    assert server.fault_counts()["timeout"] == 1


def test_truncated_output_has_finish_reason_length(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.TRUNCATED))
    with _client(server) as client:
        text = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        calls = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    clean = make_server()
    with _client(clean) as client:
        whole = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert text.choices[0].finish_reason == "length"
    cut, full = text.choices[0].message.content or "", whole.choices[0].message.content or ""
    assert cut
    assert len(cut) < len(full)
    assert full.startswith(cut)
    assert calls.choices[0].finish_reason == "length"
    arguments = (calls.choices[0].message.tool_calls or [])[0].function.arguments
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_malformed_tool_arguments_do_not_parse(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.MALFORMED_TOOL_ARGUMENTS))
    with _client(server) as client:
        reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
        raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    plain = raw.parse()
    assert "x-agentrig-fault" not in raw.headers
    calls = reply.choices[0].message.tool_calls or []
    with pytest.raises(json.JSONDecodeError):
        json.loads(calls[0].function.arguments)
    assert json.loads(calls[1].function.arguments) == {"device_id": "pump-07"}
    # a text reply has no arguments to break: not injected, not counted
    assert "ROOT_CAUSE" in (plain.choices[0].message.content or "")
    assert server.fault_counts()["malformed_tool_arguments"] == 1


def test_unknown_tool_names_a_tool_that_was_not_offered(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.UNKNOWN_TOOL))
    with _client(server) as client:
        reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    name = (reply.choices[0].message.tool_calls or [])[0].function.name
    assert name not in {t["function"]["name"] for t in TOOLS}
    assert name == "get_device_status"


def test_empty_choices(make_server: StartServer) -> None:
    server = make_server(faults=_always(FaultKind.EMPTY_CHOICES))
    with _client(server) as client:
        reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert reply.choices == []
    assert [c.choices for c in chunks] == [[]]


def test_counts_are_exposed_by_endpoint_and_api_and_reset(make_server: StartServer) -> None:
    server = make_server(faults="hostile", seed=11)
    with httpx.Client(base_url=server.base_url) as http:
        for index in range(60):
            messages = [*MESSAGES, {"role": "user", "content": f"update {index}"}]
            try:
                http.post(
                    "/chat/completions",
                    json={"model": MODEL, "messages": messages, "tools": TOOLS},
                    headers={"x-stainless-read-timeout": "0.05"},
                    timeout=1.0,
                )
            except httpx.TransportError:  # the connection-reset fault
                continue
        report = http.get("/faults").json()
    counts = server.fault_counts()
    assert report["counts"] == counts
    assert report["profile"] == "hostile"
    assert report["total"] == sum(counts.values()) > 5
    assert set(counts) == {kind.value for kind in FaultKind}
    server.reset_faults()
    assert sum(server.fault_counts().values()) == 0


def test_faults_are_deterministic_per_seed_body_and_attempt() -> None:
    def sequence(seed: int) -> list[FaultKind | None]:
        injector = FaultInjector(FAULT_PROFILES["hostile"], seed=seed)
        return [injector.draw(f"body-{i % 7}") for i in range(200)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)
    injector = FaultInjector(FaultProfile(rates={FaultKind.SERVER_ERROR: 0.5}), seed=0)
    attempts = [injector.draw("same body") for _ in range(40)]
    # the same body drawn again (a retry) gets fresh draws: some fail, some get through
    assert FaultKind.SERVER_ERROR in attempts
    assert None in attempts


@pytest.mark.parametrize(
    ("name", "rate", "kinds"),
    [
        ("none", 0.0, set()),
        ("flaky", 0.10, {FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE}),
        ("hostile", 0.30, set(FaultKind)),
    ],
)
def test_profiles_fault_at_their_rate(name: str, rate: float, kinds: set[FaultKind]) -> None:
    injector = FaultInjector(FaultProfile.resolve(name), seed=0)
    draws = Counter(injector.draw(f"request {i}") for i in range(5000))
    faulted = 5000 - draws[None]
    assert abs(faulted / 5000 - rate) < 0.02
    assert {kind for kind in draws if kind is not None} == kinds


def test_profiles_load_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "mine.yaml"
    yaml_file.write_text("rates:\n  rate_limit: 0.2\n  timeout: 0.05\nretry_after_seconds: 0.5\n")
    profile = FaultProfile.resolve(str(yaml_file))
    assert profile.name == "mine"
    assert profile.rates == {FaultKind.RATE_LIMIT: 0.2, FaultKind.TIMEOUT: 0.05}
    assert profile.retry_after_seconds == 0.5
    json_file = tmp_path / "other.json"
    json_file.write_text(json.dumps({"name": "x", "rates": {"empty_choices": 1}}))
    assert FaultProfile.resolve(str(json_file)).rates == {FaultKind.EMPTY_CHOICES: 1.0}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("rates:\n  gremlins: 0.2\n", "rates.gremlins"),
        ("rates:\n  rate_limit: 1.5\n", "rates.rate_limit"),
        ("rates:\n  rate_limit: 0.7\n  timeout: 0.7\n", "add up to 1.400"),
        ("retry_after: 2\n", "retry_after"),
        ("- a list\n", "a mapping"),
        ("rates: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_profile_file_says_what_is_wrong(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as caught:
        FaultProfile.resolve(str(path))
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)


def test_an_unknown_profile_name_lists_the_profiles() -> None:
    with pytest.raises(ConfigurationError, match="none, flaky, hostile"):
        FaultProfile.resolve("chaotic")
