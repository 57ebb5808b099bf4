"""Reading requests: roles, tasks, observations and slips from the shapes frameworks send.

The bodies below are trimmed copies of requests captured from LangChain 1.4, AutoGen AgentChat
0.7.5 and CrewAI 1.15 (test_frameworks.py drives the frameworks themselves).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentrig.core.llm.conversation import detect_role, understand
from agentrig.core.llm.protocol import parse_chat_request
from agentrig.core.llm.react import clean_task_text, react_steps, react_tool_schemas
from agentrig.core.llm.results import is_error_result, parse_tool_result
from agentrig.core.llm.selector import next_speaker, parse_selector_prompt

ALARM = "ALARM: pump-07 high vibration"
STATUS_TOOL = {
    "type": "function",
    "function": {
        "name": "check_device_status",
        "parameters": {
            "type": "object",
            "properties": {"device_id": {"type": "string"}},
            "required": ["device_id"],
        },
        "strict": False,
    },
}


def _read(body: dict[str, Any]) -> Any:
    return understand(parse_chat_request({"model": "agentrig-operator", **body}))


def _call(call_id: str, arguments: str, name: str = "check_device_status") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_autogen_round_robin_request() -> None:
    conversation = _read(
        {
            "messages": [
                {"content": "You are the operator of a plant.", "role": "system"},
                {"role": "user", "name": "user", "content": ALARM},
                {"role": "user", "name": "monitor", "content": "Confirmed.\nCONFIRMED: yes"},
                {"role": "user", "name": "diagnostician", "content": "ROOT_CAUSE: bearing_wear"},
                {
                    "role": "assistant",
                    "tool_calls": [_call("call_1", '{"device_id": "pump-07"}')],
                    "content": None,
                },
                {
                    "content": '{"ok": true, "vibration_mm_s": 11.2}',
                    "role": "tool",
                    "tool_call_id": "call_1",
                },
            ],
            "tools": [STATUS_TOOL],
            "tool_choice": "auto",
        }
    )
    assert conversation.mode == "tools"
    assert conversation.role == "operator"
    # other agents' messages come under handoff headers, as agentrig.core.contract.roles.build_task writes
    assert conversation.task == (
        f"{ALARM}\n\n--- Handoff from the monitor ---\nConfirmed.\nCONFIRMED: yes\n\n"
        "--- Handoff from the diagnostician ---\nROOT_CAUSE: bearing_wear"
    )
    [observation] = conversation.observations()
    assert observation.tool == "check_device_status"
    assert observation.arguments == {"device_id": "pump-07"}
    assert observation.result == {"ok": True, "vibration_mm_s": 11.2}


def test_repeated_call_ids_pair_in_order() -> None:
    # AutoGen keeps an agent's context across turns; a client may reuse ids across turns.
    conversation = _read(
        {
            "messages": [
                {"role": "user", "content": ALARM},
                {"role": "assistant", "tool_calls": [_call("call_1", '{"device_id": "pump-07"}')]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true, "n": 1}'},
                {"role": "assistant", "content": "done"},
                {"role": "assistant", "tool_calls": [_call("call_1", '{"device_id": "pump-08"}')]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true, "n": 2}'},
            ],
            "tools": [STATUS_TOOL],
        }
    )
    assert [(o.arguments["device_id"], o.result["n"]) for o in conversation.observations()] == [
        ("pump-07", 1),
        ("pump-08", 2),
    ]


def test_unanswered_calls_are_not_observations() -> None:
    conversation = _read(
        {
            "messages": [
                {"role": "user", "content": ALARM},
                {"role": "assistant", "tool_calls": [_call("a", "{}"), _call("b", "{}")]},
                {"role": "tool", "tool_call_id": "a", "content": "{}"},
            ]
        }
    )
    assert len(conversation.exchanges) == 2
    assert len(conversation.observations()) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"ok": true, "a": 1}', {"ok": True, "a": 1}),
        (json.dumps(json.dumps({"ok": True})), {"ok": True}),  # encoded twice
        ("{'ok': False, 'error': 'x'}", {"ok": False, "error": "x"}),  # str(dict)
        ('Observation: {"ok": true} and more', {"ok": True}),
        ("Error: tool failed", "Error: tool failed"),
        ("plain words", "plain words"),
        ('[{"a": 1}]', {"a": 1}),
        ("[]", "[]"),
        # Over MCP, Google ADK sends the whole CallToolResult; a list of content blocks as text.
        (
            json.dumps({"content": [{"type": "text", "text": '{"ok": true}'}], "isError": False}),
            {"ok": True},
        ),
        (
            json.dumps(
                {"content": [{"type": "text", "text": "Session terminated"}], "isError": True}
            ),
            {"ok": False, "error": "Session terminated"},
        ),
        (
            json.dumps([{"type": "text", "text": '{"ok": false, "error": "x"}'}]),
            {"ok": False, "error": "x"},
        ),
        ('{"content": "a device field", "ok": true}', {"content": "a device field", "ok": True}),
    ],
)
def test_tool_results_are_recovered_from_framework_wrapping(text: str, expected: Any) -> None:
    assert parse_tool_result(text) == expected


def test_error_results_are_recognised() -> None:
    assert is_error_result({"ok": False, "error": "refused"})
    assert is_error_result({"error": "boom"})
    assert not is_error_result({"ok": True, "error": None})
    assert is_error_result("Error: the tool raised")
    assert not is_error_result("all good")


def test_slips_are_hidden_from_the_policy_but_refusals_are_not() -> None:
    refused = '{"ok": false, "error": "restart refused by a safety interlock", "refused": true}'
    unknown = '{"ok": false, "error": "unknown device \'pump-7\'", "refused": true}'
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are the operator."},
        {"role": "user", "content": "ALARM: pump-07 and pump-99 tripped"},
        {
            "role": "assistant",
            "tool_calls": [
                _call("1", "{'device_id': 'pump-07'}"),  # malformed JSON
                _call("2", '{"device_id": "pump-07"}', name="get_device_status"),  # not offered
                _call("3", "{}"),  # missing required argument
                _call("4", '{"device_id": "pump-7"}'),  # an id nobody mentioned
                _call("5", '{"device_id": "pump-99"}'),  # unknown, but the alarm named it
                _call("6", '{"device_id": "pump-07"}'),  # refused by an interlock
            ],
        },
    ]
    errors = ["Error: bad JSON", "unknown tool", '{"ok": false, "error": "device_id is required"}']
    for call_id, content in zip("123456", [*errors, unknown, unknown, refused], strict=True):
        messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
    conversation = _read({"messages": messages, "tools": [STATUS_TOOL]})
    assert [ex.slip for ex in conversation.exchanges] == [True, True, True, True, False, False]
    assert [o.arguments for o in conversation.observations()] == [
        {"device_id": "pump-99"},
        {"device_id": "pump-07"},
    ]
    assert conversation.slip_count == 4
    assert not conversation.last_was_slip


@pytest.mark.parametrize(
    ("system", "first_user", "role"),
    [
        ("You are the monitor of the maintenance team.", "", "monitor"),
        ("You are diagnostician. You are the diagnostician.", "", "diagnostician"),  # CrewAI
        ("You are the operator; the monitor and diagnostician came before.", "", "operator"),
        ("", "You are the monitor. ALARM ...", "monitor"),  # CrewAI without a system prompt
        ("", "ALARM: the operator reported noise", None),
        ("You are a helpful assistant.", "", None),
    ],
)
def test_role_detection(system: str, first_user: str, role: str | None) -> None:
    assert detect_role(system, first_user) == role


SELECTOR_PROMPT = (
    "You are in a role play game. The following roles are available:\n"
    "plant_monitor: watches alarms\ndiag: the diagnostician of the team\nop: the operator.\n"
    "Read the following conversation. Then select the next role from "
    "['plant_monitor', 'diag', 'op'] to play. Only return the role.\n\n"
    "user: ALARM: pump-07\n\n\nplant_monitor: CONFIRMED: yes\n\n\n\n"
    "Read the above conversation. Then select the next role from "
    "['plant_monitor', 'diag', 'op'] to play. Only return the role.\n"
)


def test_selector_prompt_picks_the_next_role_in_the_workflow() -> None:
    prompt = parse_selector_prompt([SELECTOR_PROMPT])
    assert prompt is not None
    assert prompt.speakers == ["plant_monitor"]
    assert next_speaker(prompt) == "diag"  # names mapped to roles by name or description


def test_selector_honours_the_repeated_speaker_complaint() -> None:
    done = SELECTOR_PROMPT.replace(
        "plant_monitor: CONFIRMED: yes", "plant_monitor: a\n\n\ndiag: b\n\n\nop: c"
    )
    prompt = parse_selector_prompt([done])
    assert prompt is not None
    assert next_speaker(prompt) == "plant_monitor"  # everyone spoke: after the operator, cycle
    retry = parse_selector_prompt(
        [
            done,
            "Repeated speaker is not allowed, please select a different name from: ['diag', 'op'].",
        ]
    )
    assert retry is not None
    assert next_speaker(retry) == "diag"
    conversation = _read(
        {"messages": [{"role": "user", "name": "user", "content": SELECTOR_PROMPT}]}
    )
    assert conversation.mode == "selector"


REACT_SYSTEM = (
    "You are monitor. You are the monitor of the plant.\nYour personal goal is: Watch\n"
    "You ONLY have access to the following tools, and should NEVER make up tools that are not listed here:\n\n"
    'Tool Name: check_device_status\nTool Arguments: {\n  "properties": {\n    "device_id": {\n'
    '      "title": "Device Id",\n      "type": "string"\n    }\n  },\n  "required": [\n'
    '    "device_id"\n  ],\n  "type": "object"\n}\nTool Description: Status of a device.\n'
    'Tool Name: read_telemetry\nTool Arguments: {"properties": {}, "type": "object"}\n'
    "Tool Description: Readings.\n\nIMPORTANT: Use the following format in your response:\n\n```\n"
    "Thought: you should always think about what to do\nAction: the action to take, only one name of "
    "[check_device_status, read_telemetry], just the name, exactly as it's written.\n"
    "Action Input: the input to the action, just a simple JSON object, enclosed in curly braces, "
    'using " to wrap keys and values.\nObservation: the result of the action\n```'
)
REACT_TASK = (
    f"\nCurrent Task: {ALARM}\n\nThis is the expected criteria for your final answer: ROOT_CAUSE: <label>\n"
    "you MUST return the actual complete content as the final answer, not a summary.\n\n"
    "This is the context you're working with:\nCONFIRMED: yes\n\n"
    "Begin! This is VERY important to you, use the tools available and give your best Final "
    "Answer, your job depends on it!\n\nThought:"
)


def test_crewai_react_transcript() -> None:
    conversation = _read(
        {
            "messages": [
                {"role": "system", "content": REACT_SYSTEM},
                {"role": "user", "content": REACT_TASK},
                {
                    "role": "assistant",
                    "content": 'Thought: check\nAction: check_device_status\nAction Input: {"device_id": "pump-07"}\n'
                    'Observation: {"ok": true, "status": "running"}',
                },
                {
                    "role": "user",
                    "content": "Analyze the tool result. If requirements are met, provide the Final Answer. Otherwise, call the next tool. Deliver only the answer without meta-commentary.",
                },
            ]
        }
    )
    assert conversation.mode == "react"
    assert conversation.role == "monitor"
    assert conversation.tool_names == ["check_device_status", "read_telemetry"]
    assert conversation.tool("check_device_status").required == ["device_id"]  # type: ignore[union-attr]
    assert conversation.task == f"{ALARM}\n\n--- Handoff from the earlier tasks ---\nCONFIRMED: yes"
    [observation] = conversation.observations()
    assert observation.result == {"ok": True, "status": "running"}


def test_react_steps_with_observations_in_user_messages() -> None:
    steps = react_steps(
        [
            ("assistant", "Thought: x\nAction: **read_telemetry**\nAction Input: {}"),
            ("user", "Observation: 42"),
            ("assistant", "Thought: y\nFinal Answer: done"),
        ]
    )
    assert [(s.tool, s.raw_input, s.observation) for s in steps] == [("read_telemetry", "{}", "42")]


def test_react_tool_list_without_schemas() -> None:
    text = "Action: the action to take, only one name of [a_tool, b_tool], just the name"
    assert react_tool_schemas(text) == {"a_tool": {}, "b_tool": {}}


def test_crewai_force_final_answer_means_answer_now() -> None:
    conversation = _read(
        {
            "messages": [
                {"role": "system", "content": REACT_SYSTEM},
                {"role": "user", "content": REACT_TASK},
                {
                    "role": "user",
                    "content": "Now it's time you MUST give your absolute best final answer. You'll ignore all previous instructions, stop using any tools, and just return your absolute BEST Final answer.",
                },
            ]
        }
    )
    assert conversation.must_answer
    assert conversation.task == f"{ALARM}\n\n--- Handoff from the earlier tasks ---\nCONFIRMED: yes"


def test_crewai_native_task_is_cleaned() -> None:
    native = "\nCurrent Task: Diagnose.\n\nThis is the expected criteria for your final answer: ROOT_CAUSE line\nyou MUST return the actual complete content as the final answer, not a summary.\n\nThis is the context you're working with:\nCONFIRMED: yes"
    assert clean_task_text(native) == (
        "Diagnose.\n\n--- Handoff from the earlier tasks ---\nCONFIRMED: yes"
    )
    assert clean_task_text(f"{ALARM}\n\nProvide your complete response:") == ALARM
