"""The two incompatibilities a real llama.cpp server showed, attributed to the field at fault.

Built from the exact shapes seen live (see docs/interop.md): AutoGen's refusal of a reply that
carries the legacy ``function_call`` field, and the server's HTTP 500 on CrewAI's assistant
message with ``content: null`` beside ``tool_calls``. The replay tests beside this file check
the same on the recorded traffic.
"""

from __future__ import annotations

import json

import httpx
import openai

from agentrig.core.runner.failures import explain_failure

_TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def _server_error(messages: list[dict[str, object]], message: str) -> openai.InternalServerError:
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:8079/v1/chat/completions",
        content=json.dumps({"model": "smollm2", "messages": messages}).encode(),
    )
    body = {"error": {"message": message}}
    response = httpx.Response(500, json=body, request=request)
    return openai.InternalServerError(message, response=response, body=body)


def test_a_rejected_null_content_beside_tool_calls_is_interop_naming_that_field() -> None:
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [_TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{}"},
    ]
    failure = explain_failure(
        framework="crewai", error=_server_error(messages, "boom"), reference_model=False
    )
    assert failure.category == "interop"
    assert failure.detail == (
        "the server rejected CrewAI's request (HTTP 500): boom; the request carried "
        "`content: null` beside `tool_calls` in 1 assistant message(s) (OpenAI accepts that)"
    )


def test_a_request_without_null_content_gets_the_servers_message_alone() -> None:
    messages: list[dict[str, object]] = [
        {"role": "assistant", "content": "", "tool_calls": [_TOOL_CALL]}
    ]
    failure = explain_failure(
        framework="crewai", error=_server_error(messages, "boom"), reference_model=False
    )
    assert failure.detail == "the server rejected CrewAI's request (HTTP 500): boom"


def _raise_in_autogen() -> ValueError:
    # The frame must be a framework's for the rule to apply: run the raise in autogen_ext's file.
    import autogen_ext.models.openai._openai_client as client

    code = compile(
        "raise ValueError('function_call is deprecated and is not supported by this model "
        "client.')",
        client.__file__,
        "exec",
    )
    try:
        exec(code, {})
    except ValueError as error:
        return error
    raise AssertionError("unreachable")


def test_a_framework_refusing_the_legacy_function_call_field_is_interop_naming_it() -> None:
    failure = explain_failure(framework="autogen", error=_raise_in_autogen(), reference_model=False)
    assert failure.category == "interop"
    assert failure.detail.startswith(
        "AutoGen rejected the server's reply for its `function_call` field (ValueError at "
        "autogen_ext/models/openai/_openai_client.py:1 in <module>): function_call is deprecated"
    )
