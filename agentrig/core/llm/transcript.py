"""smolagents' conversation shape: tool calls and their results written into the chat as text.

A smolagents ``ToolCallingAgent`` asks for native tool calls, but keeps its history in its own
memory and sends it back as text (``smolagents/memory.py`` ``ActionStep.to_messages``; its
``tool-call`` / ``tool-response`` roles become ``assistant`` / ``user``)::

    user       New task:\\n<task>
    assistant  Calling tools:\\n[{'id': 'call_1', 'type': 'function',
               'function': {'name': 'read_telemetry', 'arguments': {'device_id': 'pump-07'}}}]
    user       Observation:\\n<one result per line, in the calls' order>
    user       Call id: call_1\\nError:\\n<what went wrong>\\nNow let's retry: ...

The list is Python's ``repr`` of the calls, not JSON. A role finishes by calling the
``final_answer`` tool smolagents offers beside the role's tools (:data:`FINAL_ANSWER_TOOL`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "FINAL_ANSWER_TOOL",
    "TranscriptCall",
    "is_transcript_note",
    "transcript_calls",
    "transcript_task_text",
]

FINAL_ANSWER_TOOL = "final_answer"
"""The tool a smolagents agent calls, with ``{"answer": text}``, to give its final answer."""

_CALLING_TOOLS = "Calling tools:\n"
_OBSERVATION = "Observation:\n"
_NEW_TASK = re.compile(r"^\s*New task:\s*\n")
_NOTE = re.compile(r"^\s*(?:Observation:\n|Call id: |Error:\n)")

TranscriptCall = tuple[str | None, str, Any, str | None]
"""One call written as text: (call id, tool name, arguments as sent, result text or None)."""


def is_transcript_note(text: str) -> bool:
    """Whether a user message is smolagents' tool result or error note, not part of the task."""
    return bool(_NOTE.match(text))


def transcript_task_text(text: str) -> str:
    """A task message without smolagents' ``New task:`` heading."""
    return _NEW_TASK.sub("", text, count=1)


def _calls_in(text: str) -> list[tuple[str | None, str, Any]] | None:
    start = text.find(_CALLING_TOOLS)
    if start == -1:
        return None
    line = text[start + len(_CALLING_TOOLS) :].split("\n", 1)[0]
    try:
        listed = ast.literal_eval(line)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(listed, list):
        return None
    calls: list[tuple[str | None, str, Any]] = []
    for call in listed:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return None
        call_id = call.get("id")
        calls.append(
            (str(call_id) if call_id else None, function["name"], function.get("arguments"))
        )
    return calls


def _results_in(text: str) -> list[str]:
    start = text.find(_OBSERVATION)
    if start == -1:
        return []
    results: list[str] = []
    # Tool results are one compact JSON object each; whatever follows them (a merged nudge) ends.
    for line in text[start + len(_OBSERVATION) :].split("\n"):
        if not line.startswith(("{", "[", '"')):
            break
        results.append(line)
    return results


def transcript_calls(turns: Sequence[tuple[str, str]]) -> list[TranscriptCall] | None:
    """The calls a smolagents transcript holds, each with the result written after it.

    ``turns`` are (chat role, text) in order. Returns None when no assistant message holds a
    ``Calling tools:`` list (not this shape).
    """
    found = False
    calls: list[TranscriptCall] = []
    pending: list[tuple[str | None, str, Any]] = []
    for role, text in turns:
        if role == "assistant":
            written = _calls_in(text)
            if written is not None:
                found = True
                calls.extend((*call, None) for call in pending)
                pending = written
        elif role in ("user", "tool") and pending:
            results = _results_in(text)
            for index, call in enumerate(pending):
                calls.append((*call, results[index] if index < len(results) else None))
            pending = []
    calls.extend((*call, None) for call in pending)
    return calls if found else None
