"""The Google ADK internals the adapter relies on, and the versions it was verified on.

One change, made process-wide when the adapter is built (never on import):

- ADK's LiteLLM bridge *discards* a tool call whose arguments are not JSON
  (``google.adk.models.lite_llm._parse_tool_call_arguments`` raises, the call is dropped with a
  warning and the response is marked ``MALFORMED_FUNCTION_CALL``), so the plant's executor never
  sees it and the model is never told why. The adapter conformance suite asks that every call the
  model makes reach the executor, which records and refuses it. The wrapper hands such arguments
  on as ``{RAW_ARGUMENTS: text}``; the plant tool gives the text to the executor as sent.
  docs/adapters-google-adk.md reports ADK's own behaviour.
"""

from __future__ import annotations

import json
from typing import Any

from agentrig.adapters._patching import Internal, PatchSet, VersionRange

try:
    from google.adk.models import lite_llm
except ImportError as error:  # pragma: no cover - the adapter module names the extra first
    from agentrig.exceptions import MissingExtraError

    raise MissingExtraError("the Google ADK adapter", "google-adk") from error

__all__ = ["INTERNALS", "RAW_ARGUMENTS", "SUPPORTED", "applied", "apply"]

RAW_ARGUMENTS = "__agentrig_raw_arguments__"
"""The key under which a call's unparseable arguments reach the plant tool."""

SUPPORTED = (
    VersionRange("google-adk", "2.13", "3", "google-adk"),
    VersionRange("litellm", "1.80", "2", "google-adk"),
)

INTERNALS = (
    Internal(
        lite_llm,
        "_parse_tool_call_arguments",
        "wrapped",
        "arguments that are not JSON reach the executor instead of being discarded "
        "(ADK marks the response MALFORMED_FUNCTION_CALL and drops the call)",
    ),
)

_original_parse = lite_llm._parse_tool_call_arguments


def _parse_keeping_raw(arguments: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return _original_parse(arguments, *args, **kwargs)
    except json.JSONDecodeError:
        return {RAW_ARGUMENTS: arguments}


def _install() -> None:
    lite_llm._parse_tool_call_arguments = _parse_keeping_raw


_PATCHES = PatchSet(SUPPORTED, _install)
apply = _PATCHES.apply
applied = _PATCHES.applied
