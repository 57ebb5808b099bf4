"""Personas: deterministic per request and seed; hasty skips care; sloppy slips, then recovers."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentrig.core.llm.brain import Decision, PolicyInput, Skill
from agentrig.core.llm.mistakes import MistakeKind, hallucinate_tool, mistype_device
from agentrig.core.llm.personas import HASTY_SKIPS_INVESTIGATION, PERSONAS, persona_for
from agentrig.core.llm.serving import ReferenceModelServer

from .conftest import ALARM, SYSTEM, TOOLS, scripted_decide

StartServer = Callable[..., ReferenceModelServer]
MESSAGES: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ALARM}]


def _post(server: ReferenceModelServer, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=server.base_url) as http:
        response = http.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("model", list(PERSONAS))
def test_same_request_and_seed_give_byte_identical_responses(
    make_server: StartServer, model: str
) -> None:
    body = {"model": model, "messages": MESSAGES, "tools": TOOLS, "seed": 5}
    first = _post(make_server(seed=1), body).content
    again = _post(make_server(seed=1), body).content  # another server, same seed
    assert first == again
    streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
    assert (
        _post(make_server(seed=1), streamed).content == _post(make_server(seed=1), streamed).content
    )


def test_the_seed_is_part_of_the_reply(make_server: StartServer) -> None:
    body = {"model": "agentrig-operator", "messages": MESSAGES, "tools": TOOLS}
    server = make_server(seed=1)
    assert _post(server, body).json()["id"] != _post(make_server(seed=2), body).json()["id"]
    assert _post(server, body).json()["id"] != _post(server, {**body, "seed": 9}).json()["id"]


def test_hasty_never_verifies_and_skips_investigation_on_a_seeded_share() -> None:
    hasty = PERSONAS["agentrig-operator-hasty"]
    skills = [hasty.skill(f"ALARM: pump-{i:02d} high pressure", seed=0) for i in range(400)]
    assert all(skill.verify is False for skill in skills)
    skipped = sum(1 for skill in skills if not skill.investigate) / len(skills)
    assert abs(skipped - HASTY_SKIPS_INVESTIGATION) < 0.08
    # per conversation: the same first message always gets the same skill
    assert skills == [hasty.skill(f"ALARM: pump-{i:02d} high pressure", seed=0) for i in range(400)]
    assert PERSONAS["agentrig-operator"].skill("anything", seed=0) == Skill()
    assert PERSONAS["agentrig-operator-sloppy"].skill("anything", seed=0) == Skill()


def test_the_hasty_persona_reaches_the_brain(make_server: StartServer) -> None:
    seen: list[Skill] = []

    def brain(inp: PolicyInput, skill: Skill) -> Decision:
        seen.append(skill)
        return scripted_decide(inp, skill)

    server = make_server(decide=brain)
    alarms = [f"ALARM: pump-{i:02d} discharge pressure high." for i in range(12)]
    replies = [
        _post(
            server,
            {
                "model": "agentrig-operator-hasty",
                "messages": [{"role": "user", "content": a}],
                "tools": TOOLS,
            },
        ).json()
        for a in alarms
    ]
    rushed = [r for r, s in zip(replies, seen, strict=True) if not s.investigate]
    careful = [r for r, s in zip(replies, seen, strict=True) if s.investigate]
    assert rushed
    assert careful
    assert all("tool_calls" not in r["choices"][0]["message"] for r in rushed)
    assert all("tool_calls" in r["choices"][0]["message"] for r in careful)


def _sloppy_loop(server: ReferenceModelServer, alarm: str, seed: int) -> list[tuple[str, Any]]:
    """A tool loop whose tools fail on malformed calls, like the plant's executor does."""
    offered = {t["function"]["name"]: t for t in TOOLS}
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": alarm},
    ]
    calls: list[tuple[str, Any]] = []
    for _ in range(12):
        body = {
            "model": "agentrig-operator-sloppy",
            "messages": messages,
            "tools": TOOLS,
            "seed": seed,
        }
        message = _post(server, body).json()["choices"][0]["message"]
        messages.append(message)
        if "tool_calls" not in message:
            return calls
        for call in message["tool_calls"]:
            name, raw = call["function"]["name"], call["function"]["arguments"]
            calls.append((name, raw))
            try:
                arguments = json.loads(raw)
            except ValueError:
                result = {"ok": False, "error": f"invalid arguments for {name}: not JSON"}
            else:
                if name not in offered:
                    result = {"ok": False, "error": f"unknown tool {name!r}"}
                elif "device_id" not in arguments:
                    result = {
                        "ok": False,
                        "error": f"invalid arguments for {name}: device_id is required",
                    }
                elif arguments["device_id"] not in alarm:
                    result = {"ok": False, "error": f"unknown device {arguments['device_id']!r}"}
                else:
                    result = {"ok": True, "device_id": arguments["device_id"]}
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
            )
    raise AssertionError("the sloppy persona never finished")


def _kind(name: str, raw: str, alarm: str) -> MistakeKind | None:
    offered = {t["function"]["name"] for t in TOOLS}
    if name not in offered:
        return MistakeKind.UNKNOWN_TOOL
    try:
        arguments = json.loads(raw)
    except ValueError:
        return MistakeKind.MALFORMED_ARGUMENTS
    if "device_id" not in arguments:
        return MistakeKind.MISSING_ARGUMENT
    return None if arguments["device_id"] in alarm else MistakeKind.WRONG_DEVICE


def test_sloppy_makes_every_kind_of_mistake_and_recovers(make_server: StartServer) -> None:
    server = make_server()
    kinds: Counter[MistakeKind] = Counter()
    for index in range(16):
        alarm = f"ALARM: pump-{index + 1:02d} discharge pressure high."
        calls = _sloppy_loop(server, alarm, seed=index)
        slips = [_kind(name, raw, alarm) for name, raw in calls]
        kinds.update(kind for kind in slips if kind is not None)
        # it recovers: every good call it was going to make is made, and never two slips in a row
        good = [name for (name, _), kind in zip(calls, slips, strict=True) if kind is None]
        assert sorted(good) == ["check_device_status", "read_telemetry"]
        assert all(not (a and b) for a, b in itertools.pairwise(slips))
    assert set(kinds) == set(MistakeKind)


def test_sloppy_is_deterministic(make_server: StartServer) -> None:
    alarm = "ALARM: pump-03 discharge pressure high."
    assert _sloppy_loop(make_server(), alarm, seed=4) == _sloppy_loop(make_server(), alarm, seed=4)


def test_mistakes_look_like_real_ones() -> None:
    assert mistype_device("t", {"device_id": "pump-07"}).arguments_json == '{"device_id": "pump-7"}'  # type: ignore[union-attr]
    assert (
        mistype_device("t", {"device_id": "pump-11"}).arguments_json == '{"device_id": "pump-011"}'
    )  # type: ignore[union-attr]
    assert mistype_device("t", {"level": 3}) is None
    assert hallucinate_tool("check_device_status", ["check_device_status"]) == "get_device_status"
    assert hallucinate_tool("get_x", ["get_x", "fetch_x"]) == "get_x_v2"


def test_personas_are_our_own_models() -> None:
    assert persona_for("gpt-4o") is None
    assert {p.name for p in PERSONAS.values()} == {"full", "hasty", "sloppy"}
    assert all(model_id.startswith("agentrig-") for model_id in PERSONAS)
