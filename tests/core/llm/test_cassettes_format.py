"""What a cassette stores: normalised request bodies, readable YAML, secrets out, useful diffs."""

from __future__ import annotations

import json

import httpx
import pytest

from agentrig.core.llm.cassettes import RECORD_MODES, cassette_path, path_segment
from agentrig.core.llm.cassettes.diff import RecordedRequest, explain_miss
from agentrig.core.llm.cassettes.normalise import (
    REDACTED,
    normalise_request_body,
    normalise_uri,
    redact_secrets,
    split_events,
    stored_response,
)
from agentrig.core.llm.cassettes.yaml import ReadableYamlSerializer
from agentrig.testing.pytest_plugin import RECORD_MODE_CHOICES


def test_request_bodies_are_canonical_without_volatile_fields() -> None:
    one = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "user": "u1"})
    two = json.dumps(
        {"user": "u2", "metadata": {"run": "x"}, "messages": [{"content": "hi", "role": "user"}]}
        | {"model": "m"}
    )
    assert normalise_request_body(one.encode()) == normalise_request_body(two.encode())
    assert normalise_request_body(one.encode()) == (
        b'{"messages":[{"content":"hi","role":"user"}],"model":"m"}'
    )


def test_secrets_are_redacted_from_bodies_and_uris() -> None:
    body = json.dumps(
        {
            "api_key": "anything-at-all",
            "messages": [{"role": "user", "content": "use sk-proj-abcdefghijklmnop1234 now"}],
            "note": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload",
        }
    ).encode()
    text = normalise_request_body(body).decode()
    assert "abcdefghijklmnop" not in text
    assert "anything-at-all" not in text
    assert "eyJhbGci" not in text
    assert f'"api_key":"{REDACTED}"' in text
    assert f"sk-{REDACTED}" in text
    assert f"Bearer {REDACTED}" in text
    assert redact_secrets("AKIAABCDEFGHIJKLMNOP") == REDACTED
    assert normalise_uri("http://user:pw@127.0.0.1:43117/v1/chat/completions?key=secret&x=1") == (
        f"http://127.0.0.1/v1/chat/completions?key={REDACTED}&x=1"
    )
    assert normalise_uri("https://api.openai.com:443/v1/chat/completions") == (
        "https://api.openai.com:443/v1/chat/completions"
    )


def test_stored_responses_keep_only_headers_clients_use() -> None:
    headers = httpx.Headers(
        [
            ("Content-Type", "application/json"),
            ("Date", "Tue, 24 Nov 2026 08:00:00 GMT"),
            ("x-request-id", "req_123"),
            ("set-cookie", "session=abc"),
            ("openai-organization", "org-123"),
            ("retry-after", "1"),
            ("x-agentrig-fault", "rate_limit"),
            ("content-encoding", "zstd"),
        ]
    )
    stored = stored_response(200, "OK", headers, b'{"b": 1,  "a": "sk-abcdefghijklmnopqr"}')
    assert stored["headers"] == {
        "content-type": ["application/json"],
        "retry-after": ["1"],
        "x-agentrig-fault": ["rate_limit"],
    }
    # Compact JSON, key order kept, the key-like string redacted.
    assert stored["body"]["string"] == f'{{"b":1,"a":"sk-{REDACTED}"}}'.encode()


def _cassette_dict(response_body: bytes, content_type: str) -> dict[str, object]:
    request = {
        "method": "POST",
        "uri": "http://127.0.0.1/v1/chat/completions",
        "body": normalise_request_body(
            json.dumps({"messages": [{"role": "system", "content": "line one\nline two"}]}).encode()
        ).decode(),
        "headers": {},
    }
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"content-type": [content_type]},
        "body": {"string": response_body.decode()},
    }
    return {"version": 1, "interactions": [{"request": request, "response": response}]}


@pytest.mark.parametrize(
    ("body", "content_type", "stored_as"),
    [
        (
            b'{"id":"c1","choices":[{"message":{"content":"a\\nb"}}],"n":1.5}',
            "application/json",
            "json:",
        ),
        (
            b'data: {"id":"c1"}\n\ndata: {"id":"c2"}\n\ndata: [DONE]\n\n',
            "text/event-stream",
            "events:",
        ),
        (b"plain words", "text/plain", "text:"),
    ],
)
def test_bodies_are_readable_yaml_and_load_back_exactly(
    body: bytes, content_type: str, stored_as: str
) -> None:
    data = _cassette_dict(body, content_type)
    text = ReadableYamlSerializer.serialize(json.loads(json.dumps(data)))
    assert stored_as in text
    assert "!!binary" not in text
    assert "|-\n" in text  # a multi-line prompt is a text block
    assert "line one\n" in text
    loaded = ReadableYamlSerializer.deserialize(text)
    interaction = loaded["interactions"][0]
    assert interaction["response"]["body"]["string"] == body.decode()
    assert interaction["request"]["body"] == data["interactions"][0]["request"]["body"]  # type: ignore[index]


def test_server_sent_events_replay_one_chunk_per_event() -> None:
    body = b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'
    assert split_events(body) == [b'data: {"a":1}\n\n', b'data: {"a":2}\n\n', b"data: [DONE]\n\n"]
    assert b"".join(split_events(body)) == body


def test_a_miss_is_explained_by_a_diff_against_the_nearest_recording() -> None:
    def body(prompt: str, turn: int) -> bytes:
        messages = [{"role": "system", "content": prompt}, {"role": "user", "content": f"t{turn}"}]
        return normalise_request_body(json.dumps({"messages": messages}).encode())

    prompt = "You are the monitor.\nConfirm the alarm with your read-only tools.\nBe brief."
    recorded = [
        RecordedRequest(
            i,
            played=i == 0,
            method="POST",
            uri="http://h/v1/chat/completions",
            body=body(prompt, i),
        )
        for i in range(3)
    ]
    live = body(prompt.replace("read-only tools", "tools"), 1)
    text = explain_miss("POST", "http://h/v1/chat/completions", live, 1, recorded)
    lines = text.splitlines()
    assert lines[0].startswith("nearest recorded request: interaction #1 of 3 (not yet replayed")
    assert "--- recorded interaction #1" in lines
    assert "+++ request #1" in lines
    assert "-    Confirm the alarm with your read-only tools." in lines
    assert "+    Confirm the alarm with your tools." in lines


def test_cassette_paths_are_safe_segments() -> None:
    assert cassette_path("cassettes", "reference", "plain", "blocked-discharge").as_posix() == (
        "cassettes/reference/plain/blocked-discharge.yaml"
    )
    assert cassette_path("c", "reference:hasty?timeout=5", "plain", "x", repeat=2).as_posix() == (
        "c/reference-hasty/plain/x.r2.yaml"
    )
    assert path_segment("http://host:8000/v1#my/model") == "http-host-8000-v1-my-model"
    assert path_segment("../..") == "_"
    assert RECORD_MODE_CHOICES == RECORD_MODES


def test_a_message_or_tool_list_sent_again_is_written_once() -> None:
    system = {"role": "system", "content": "You are the monitor.\nBe brief."}
    tools = [{"type": "function", "function": {"name": "read_telemetry", "parameters": {}}}]
    turns = [
        [system, {"role": "user", "content": "ALARM pump-07"}],
        [
            system,
            {"role": "user", "content": "ALARM pump-07"},
            {"role": "assistant", "content": "ok"},
        ],
    ]
    data = _cassette_dict(b"{}", "application/json")
    first = data["interactions"][0]  # type: ignore[index]
    data["interactions"] = [  # type: ignore[index]
        {
            "request": first["request"]
            | {
                "body": normalise_request_body(
                    json.dumps({"messages": m, "tools": tools}).encode()
                ).decode()
            },
            "response": first["response"],
        }
        for m in turns
    ]
    text = ReadableYamlSerializer.serialize(data)
    assert text.count("You are the monitor.") == 1
    assert text.count("read_telemetry") == 1
    assert "tools: *id" in text
    loaded = ReadableYamlSerializer.deserialize(text)
    assert [i["request"]["body"] for i in loaded["interactions"]] == [
        i["request"]["body"]
        for i in data["interactions"]  # type: ignore[attr-defined]
    ]


def test_the_cassettes_package_exports_what_the_cassettes_module_did() -> None:
    from agentrig.core.llm import cassettes

    assert sorted(cassettes.__all__) == [
        "CassetteSettings",
        "DEFAULT_CASSETTE_DIR",
        "RECORD_MODES",
        "REPLAY_BASE_URL",
        "RecordMode",
        "cassette_path",
        "path_segment",
        "replay_endpoint",
        "use_cassette",
    ]
    assert all(hasattr(cassettes, name) for name in cassettes.__all__)
