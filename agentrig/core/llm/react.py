"""CrewAI's prompt shapes: its ReAct text protocol and the boilerplate around a task.

When CrewAI runs without native tool calling it sends no ``tools``; the system (or first user)
message lists them as ``Tool Name: x`` / ``Tool Arguments: {json schema}`` / ``Tool Description:``
and asks for::

    Thought: ...
    Action: <one tool name>
    Action Input: <a JSON object>

or ``Thought: ...`` / ``Final Answer: ...``. After running a tool CrewAI appends
``\\nObservation: <result>`` to our assistant message and adds a user nudge. The strings below are
CrewAI 1.15's (``crewai/translations/en.json``, ``crewai/tools/structured_tool.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agentrig.core.contract.roles import HANDOFF_MARKER

__all__ = [
    "ReactStep",
    "clean_task_text",
    "is_crewai_meta_prompt",
    "is_force_final_answer",
    "is_react_prompt",
    "react_action",
    "react_final_answer",
    "react_steps",
    "react_tool_schemas",
]

_DECODER = json.JSONDecoder()
_TOOL_NAME = re.compile(r"^Tool Name:\s*(\S+)\s*$", re.MULTILINE)
_TOOL_ARGUMENTS = "Tool Arguments:"
_TOOL_LIST = re.compile(r"only one name of \[([^\]]*)\]")
# Same shape as crewai.agents.constants.ACTION_INPUT_REGEX, stopping at a CrewAI-added Observation.
_ACTION = re.compile(
    r"Action\s*\d*\s*:\s*(?P<tool>.*?)\s*Action\s*\d*\s*Input\s*\d*\s*:\s*(?P<input>.*?)"
    r"(?:\n\s*Observation\s*:\s*(?P<observation>.*))?\Z",
    re.DOTALL,
)
_OBSERVATION_MESSAGE = re.compile(r"^\s*Observation\s*:\s*(.*)\Z", re.DOTALL)

_FORCE_FINAL_ANSWER = "Now it's time you MUST give your absolute best final answer."
# Whole user messages CrewAI adds between steps; they carry no task information.
_META_PROMPTS = (
    "Analyze the tool result. If requirements are met, provide the Final Answer.",
    "Sorry, I didn't use the right format.",
    "I did it wrong.",
    "I tried reusing the same input",
    _FORCE_FINAL_ANSWER,
)
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
# CrewAI's context block holds the earlier tasks' outputs: mark it as a handoff (like
# agentrig.core.contract.roles.build_task does), so the alarm is what comes before it.
_CONTEXT_HEADER = f"{HANDOFF_MARKER} earlier tasks ---"
_TASK_BOILERPLATE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\n*Begin! This is VERY important to you, use the tools available and give your best Final Answer, your job depends on it!\s*(?:\n\s*Thought:\s*)?\Z"
        ),
        "",
    ),
    (re.compile(r"\n*Provide your complete response:\s*\Z"), ""),
    (
        re.compile(
            r"\n*This is the expected criteria for your final answer:.*?you MUST return the actual complete content as the final answer, not a summary\.",
            re.DOTALL,
        ),
        "\n\n",
    ),
    (re.compile(r"\n*This is the context you're working with:\n"), f"\n\n{_CONTEXT_HEADER}\n"),
    (re.compile(r"^\s*Current Task:\s*"), ""),
)


def is_react_prompt(text: str) -> bool:
    """Whether a prompt asks for CrewAI's Thought/Action/Action Input format."""
    return "Action Input:" in text and ("Tool Name:" in text or "only one name of [" in text)


def react_tool_schemas(text: str) -> dict[str, dict[str, Any]]:
    """Tool names and argument schemas listed in a ReAct prompt, in order."""
    schemas: dict[str, dict[str, Any]] = {}
    for match in _TOOL_NAME.finditer(text):
        schema: dict[str, Any] = {}
        start = text.find(_TOOL_ARGUMENTS, match.end())
        if start != -1 and text[match.end() : start].strip() == "":
            try:
                value, _ = _DECODER.raw_decode(text, start + len(_TOOL_ARGUMENTS) + 1)
            except ValueError:
                value = None
            if isinstance(value, dict):
                schema = value
        schemas[match.group(1)] = schema
    if not schemas:
        for listing in _TOOL_LIST.findall(text):
            for name in listing.split(","):
                if name.strip():
                    schemas.setdefault(name.strip(), {})
    return schemas


@dataclass(frozen=True)
class ReactStep:
    """One Action this assistant wrote, with the Observation CrewAI answered (None if none yet)."""

    tool: str
    raw_input: str
    observation: str | None


def react_steps(turns: Sequence[tuple[str, str]]) -> list[ReactStep]:
    """The Action/Observation pairs in a transcript given as ``(role, text)`` turns."""
    steps: list[ReactStep] = []
    for role, text in turns:
        if role == "assistant" and "Final Answer:" not in text:
            match = _ACTION.search(text)
            if match:
                tool = match.group("tool").strip().strip("*").strip()
                observation = match.group("observation")
                steps.append(ReactStep(tool, match.group("input").strip(), observation))
        elif role == "user" and steps and steps[-1].observation is None:
            observed = _OBSERVATION_MESSAGE.match(text)
            if observed:
                last = steps[-1]
                steps[-1] = ReactStep(last.tool, last.raw_input, observed.group(1))
    return steps


def react_action(tool: str, arguments_json: str, thought: str) -> str:
    """An assistant turn that calls one tool, in the format CrewAI's parser reads."""
    return f"Thought: {thought}\nAction: {tool}\nAction Input: {arguments_json}"


def react_final_answer(text: str) -> str:
    return f"Thought: I now know the final answer\nFinal Answer: {text}"


def is_force_final_answer(text: str) -> bool:
    return _FORCE_FINAL_ANSWER in text


def is_crewai_meta_prompt(text: str) -> bool:
    """A user message CrewAI adds between steps (a nudge or a format complaint), not the task."""
    head = text.lstrip()
    return head.startswith(_META_PROMPTS) or head.startswith("Observation:")


@lru_cache(maxsize=1024)  # the same task text comes back in every request of an agent's run
def clean_task_text(text: str) -> str:
    """A task message without CrewAI's instructions to the model (kept: the task and its context).

    The expected-output criteria go too: they often quote the answer's format
    (``ROOT_CAUSE: <label>``), which would read as an earlier role's answer. The context block
    (earlier tasks' outputs) gets a handoff header, as in :func:`agentrig.core.contract.roles.build_task`.
    """
    for pattern, replacement in _TASK_BOILERPLATE:
        text = pattern.sub(replacement, text)
    return _BLANK_LINES.sub("\n\n", text).strip()
