"""Offline token counts and the seeded latency model."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from agentrig.core.llm.latency import LatencyModel
from agentrig.core.llm.serving import ReferenceModelServer
from agentrig.core.llm.tokens import count_prompt_tokens, count_tokens, split_tokens
from agentrig.exceptions import ConfigurationError


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("Hello world", 2),
        ("pump-07", 3),  # pump | - | 07, as cl100k splits it
        ("12345", 2),  # numbers in chunks of three digits
        ('{"ok": true}', 5),
        ("Supercalifragilistic", 3),  # long words cost more
    ],
)
def test_token_counts(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens
    assert len(split_tokens(text)) == tokens
    assert "".join(split_tokens(text)) == text


def test_prompt_overhead_follows_openais_recipe() -> None:
    one = count_prompt_tokens([("Hello world", None)])
    assert one == 3 + 3 + 2  # priming, per message, content
    assert count_prompt_tokens([("Hello world", "bob")]) == one + 1 + 1
    tool = {"type": "function", "function": {"name": "f"}}
    assert count_prompt_tokens([("Hello world", None)], [tool]) > one


@pytest.mark.parametrize(
    ("spec", "call", "token", "jitter"),
    [
        ("off", 0.0, 0.0, 0.0),
        ("250ms", 0.25, 0.0, 0.0),
        ("0.3s+8ms/token", 0.3, 0.008, 0.0),
        ("400ms+15ms/token~30%", 0.4, 0.015, 0.3),
        ("realistic", 0.4, 0.015, 0.3),
    ],
)
def test_latency_specs(spec: str, call: float, token: float, jitter: float) -> None:
    model = LatencyModel.parse(spec)
    assert (model.per_call_seconds, model.per_token_seconds, model.jitter) == pytest.approx(
        (call, token, jitter)
    )


@pytest.mark.parametrize("spec", ["fast-ish", "10 parsecs", "5ms~150%"])
def test_bad_latency_specs(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="latency"):
        LatencyModel.parse(spec)


def test_latency_is_seeded_and_jittered() -> None:
    model = LatencyModel.parse("400ms+10ms/token~30%")
    timings = [model.timing(f"request {i}") for i in range(200)]
    firsts = [t.first_token_seconds for t in timings]
    assert all(0.28 <= f <= 0.52 for f in firsts)
    assert max(firsts) - min(firsts) > 0.15
    assert model.timing("request 7") == timings[7]
    assert timings[0].total(100) == pytest.approx(
        timings[0].first_token_seconds + 100 * timings[0].per_token_seconds
    )


def test_the_server_waits_when_latency_is_on(
    make_server: Callable[..., ReferenceModelServer],
) -> None:
    body = {"model": "agentrig-operator", "messages": [{"role": "user", "content": "hi"}]}
    slow = make_server(latency="150ms+1ms/token")
    fast = make_server()
    with httpx.Client() as http:
        started = time.monotonic()
        http.post(f"{fast.base_url}/chat/completions", json=body)
        instant = time.monotonic() - started
        started = time.monotonic()
        reply = http.post(f"{slow.base_url}/chat/completions", json=body).json()
        waited = time.monotonic() - started
        started = time.monotonic()
        http.post(
            f"{fast.base_url}/chat/completions", json=body, headers={"x-agentrig-latency": "200ms"}
        )
        by_header = time.monotonic() - started
    expected = 0.15 + 0.001 * reply["usage"]["completion_tokens"]
    assert instant < 0.1
    assert expected <= waited < expected + 0.3
    assert 0.2 <= by_header < 0.45


def test_streams_are_paced_token_by_token(
    make_server: Callable[..., ReferenceModelServer],
) -> None:
    server = make_server(latency="100ms+10ms/token")
    body = {
        "model": "agentrig-operator",
        "messages": [{"role": "user", "content": "ALARM: pump-07 high pressure"}],
        "stream": True,
    }
    arrivals = []
    with httpx.Client() as http:
        started = time.monotonic()
        with http.stream("POST", f"{server.base_url}/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    arrivals.append(time.monotonic() - started)
    tokens = len(arrivals) - 2  # role chunk and finish chunk carry no token
    assert tokens > 10
    assert arrivals[0] >= 0.1  # time to first token
    assert arrivals[-1] >= 0.1 + 0.01 * tokens  # then one token at a time
    assert arrivals[-1] - arrivals[1] >= 0.01 * (tokens - 1)
