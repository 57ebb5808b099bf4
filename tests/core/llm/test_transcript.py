"""The reference model reading smolagents' shape: tool calls and results written as text.

The bodies are trimmed copies of requests smolagents 1.26's ToolCallingAgent sent (recorded in
cassettes/reference/smolagents/): its memory comes back as "Calling tools: [<Python repr>]"
assistant messages and "Observation:" user messages, and it finishes through a final_answer tool.
"""

from __future__ import annotations

import json
from typing import Any

from agentrig.core.llm.brain import Decision, FinalAnswer, PolicyInput, Skill, ToolRequest
from agentrig.core.llm.conversation import understand
from agentrig.core.llm.model import ReferenceModel
from agentrig.core.llm.personas import PERSONAS
from agentrig.core.llm.protocol import parse_chat_request
from agentrig.core.llm.transcript import transcript_calls

ALARM = "ALARM pump-07: discharge pressure high and rising"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": "",
            "parameters": {
                "type": "object",
                "properties": {"device_id": {"type": "string"}},
                "required": ["device_id"],
            },
        },
    }
    for name in ("check_device_status", "read_telemetry", "final_answer")
]


def _text(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _calls(*calls: tuple[str, str, Any]) -> dict[str, Any]:
    listed = [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        for call_id, name, arguments in calls
    ]
    return _text("assistant", "Calling tools:\n" + str(listed))


def _request(*messages: dict[str, Any], tools: list[dict[str, Any]] | None = None) -> Any:
    return parse_chat_request(
        {
            "model": "agentrig-operator",
            "messages": [
                _text("system", "You are the monitor of the maintenance team."),
                _text("user", f"New task:\n{ALARM}"),
                *messages,
            ],
            "tools": TOOLS if tools is None else tools,
            "tool_choice": "required",
        }
    )


def test_a_steps_calls_pair_with_their_observation_lines_in_order() -> None:
    conversation = understand(
        _request(
            _calls(
                ("call_b", "check_device_status", {"device_id": "pump-07"}),
                ("call_a", "read_telemetry", {"device_id": "valve-12"}),
            ),
            _text("user", 'Observation:\n{"ok":true,"status":"running"}\n{"ok":true,"pt":9.1}'),
            _calls(("call_c", "check_device_status", '{"device_id": "pump-0')),
            _text("user", 'Observation:\n{"ok":false,"error":"arguments are not JSON"}'),
        )
    )
    assert conversation.role == "monitor"
    assert conversation.task == ALARM  # no "New task:" heading, no observation text
    assert conversation.first_user_text == ALARM
    assert [(e.call_id, e.tool, e.arguments, e.result) for e in conversation.exchanges] == [
        (
            "call_b",
            "check_device_status",
            {"device_id": "pump-07"},
            {"ok": True, "status": "running"},
        ),
        ("call_a", "read_telemetry", {"device_id": "valve-12"}, {"ok": True, "pt": 9.1}),
        ("call_c", "check_device_status", None, {"ok": False, "error": "arguments are not JSON"}),
    ]
    assert [e.slip for e in conversation.exchanges] == [False, False, True]
    assert [o.tool for o in conversation.observations()] == [
        "check_device_status",
        "read_telemetry",
    ]


def test_an_error_note_or_a_merged_nudge_is_no_result_and_no_task() -> None:
    turns = [
        ("user", f"New task:\n{ALARM}"),
        (
            "assistant",
            "Calling tools:\n[{'id': 'x', 'type': 'function', "
            "'function': {'name': 'final_answer', 'arguments': {'answer': 'a'}}}]",
        ),
        ("user", "Call id: x\nError:\nIf you want to return an answer, please do not ..."),
        (
            "assistant",
            "Calling tools:\n[{'id': 'y', 'type': 'function', "
            "'function': {'name': 'read_telemetry', 'arguments': {'device_id': 'pump-07'}}}]",
        ),
        ("user", 'Observation:\n{"ok":true}\nYou have no more steps. Give your final answer now'),
    ]
    assert transcript_calls(turns) == [
        ("x", "final_answer", {"answer": "a"}, None),
        ("y", "read_telemetry", {"device_id": "pump-07"}, '{"ok":true}'),
    ]
    assert transcript_calls([("user", ALARM), ("assistant", "Thought: no calls here")]) is None


def _reply(decision: Decision, tools: list[dict[str, Any]] | None = None) -> Any:
    def decide(inp: PolicyInput, skill: Skill) -> Decision:
        seen.append(inp)
        return decision

    seen: list[PolicyInput] = []
    model = ReferenceModel(decide=decide)
    completion = model.reply(_request(tools=tools), PERSONAS["agentrig-operator"], "key")
    return completion, seen[0]


def test_a_final_answer_goes_through_the_final_answer_tool_when_offered() -> None:
    completion, seen = _reply(FinalAnswer("monitor: done\nCONFIRMED: yes"))
    assert "final_answer" not in seen.tools  # the policy sees only the plant's tools
    assert completion.content is None
    [call] = completion.tool_calls
    assert (call.name, json.loads(call.arguments)) == (
        "final_answer",
        {"answer": "monitor: done\nCONFIRMED: yes"},
    )


def test_without_a_final_answer_tool_the_answer_stays_text() -> None:
    completion, _ = _reply(FinalAnswer("monitor: done"), tools=TOOLS[:2])
    # tool_choice "required" with no final_answer tool: a read-only call is forced instead.
    assert completion.content is None
    assert [call.name for call in completion.tool_calls] == ["check_device_status"]
    completion, _ = _reply(FinalAnswer("monitor: done"), tools=[])
    assert completion.content == "monitor: done"
    assert completion.tool_calls == []


def test_a_tool_request_is_unchanged_by_the_final_answer_tool() -> None:
    completion, _ = _reply([ToolRequest("read_telemetry", {"device_id": "pump-07"})])
    assert [(c.name, json.loads(c.arguments)) for c in completion.tool_calls] == [
        ("read_telemetry", {"device_id": "pump-07"})
    ]
