"""Reading tool results back out of whatever text a framework put in the conversation.

The plant's tools return JSON-object text, but frameworks pass it on in their own ways: as is
(the plain loop, CrewAI native), ``str()`` of a dict (Python literal syntax), JSON-encoded twice,
embedded in prose ("Observation: {...}", "Error: ..."), or, over MCP, inside the MCP result
itself: Google ADK hands the model the whole ``CallToolResult`` as JSON (``{"content": [{"type":
"text", "text": "..."}], "isError": false}``). Content blocks sent as the message's own parts are
joined by :func:`~agentrig.core.llm.protocol.message_text`; the same blocks sent as JSON text are
read here, the same way. :func:`parse_tool_result` recovers the object when there is one and
otherwise keeps the text.
"""

from __future__ import annotations

import ast
import json
from typing import Any

# pydantic_core's JSON parser: the same values as json.loads, three times faster on tool results.
from pydantic_core import from_json

from agentrig.core.llm.protocol import message_text

__all__ = ["is_error_result", "parse_arguments", "parse_tool_result"]

_DECODER = json.JSONDecoder()
# Enough to find the object in "Observation: ..." or "Error executing tool: {...}", without
# scanning every brace of a long prose result.
_MAX_EMBEDDED_ATTEMPTS = 8


def parse_tool_result(text: str) -> Any:
    """The JSON object in ``text`` if there is one (possibly double-encoded or embedded), else text."""
    stripped = text.strip()
    if not stripped:
        return text
    if stripped[0] in '{"[':
        try:
            value = from_json(stripped)
        except ValueError:
            value = None
        mcp_result = _mcp_content(value)
        if mcp_result is not None:
            return mcp_result
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value.strip().startswith("{"):
            return parse_tool_result(value)
    start = stripped.find("{")
    attempts = 0
    while start != -1 and attempts < _MAX_EMBEDDED_ATTEMPTS:
        attempts += 1
        try:
            value, _ = _DECODER.raw_decode(stripped, start)
        except ValueError:
            value = _python_literal(stripped[start:])
        if isinstance(value, dict):
            return value
        start = stripped.find("{", start + 1)
    return text


# The keys of an MCP CallToolResult as JSON (mcp 1.x field names; 2.x's snake_case and the
# protocol's `_meta` as well): an object with only these and a `content` list is one.
_CALL_TOOL_RESULT_KEYS = frozenset(
    {"content", "isError", "is_error", "structuredContent", "structured_content", "meta", "_meta"}
)


def _mcp_content(value: Any) -> Any:
    """What an MCP tool result sent whole says -- a ``CallToolResult`` or its list of content
    blocks -- read from the text of its text blocks; None when ``value`` is neither."""
    flagged_error = False
    blocks = value
    if isinstance(value, dict):
        if "content" not in value or not set(value) <= _CALL_TOOL_RESULT_KEYS:
            return None
        blocks = value["content"]
        flagged_error = bool(value.get("isError") or value.get("is_error"))
    if (
        not isinstance(blocks, list)
        or (blocks is value and not blocks)
        or not all(
            isinstance(block, dict) and isinstance(block.get("type"), str) for block in blocks
        )
    ):
        return None
    text = message_text([block for block in blocks if block["type"] == "text"])
    result = parse_tool_result(text)
    if flagged_error and not is_error_result(result):
        # isError is the protocol's failure flag: a failure even when its text does not say so.
        return {"ok": False, "error": text}
    return result


def _python_literal(text: str) -> Any:
    # `str(dict)` uses Python syntax ({'ok': True}); literal_eval reads it and nothing executable.
    end = text.rfind("}")
    if end == -1:
        return None
    try:
        return ast.literal_eval(text[: end + 1])
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def parse_arguments(raw: str) -> dict[str, Any] | None:
    """Tool-call arguments as a dict, or None when they are not a JSON object (a malformed call)."""
    if not raw.strip():
        return {}
    try:
        value = from_json(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def is_error_result(result: Any) -> bool:
    """Whether a tool result reports a failure: ``ok: false``, an ``error`` field, or error prose."""
    if isinstance(result, dict):
        if result.get("ok") is False or result.get("success") is False:
            return True
        return bool(result.get("error"))
    if isinstance(result, str):
        head = result.strip()[:200].lower()
        return head.startswith(
            ("error", "i encountered an error", "you tried to use the tool")
        ) or ("error" in head and ("not found" in head or "invalid" in head or "unknown" in head))
    return False
