"""The reference model through the real ``openai`` client: sync, async, streaming, parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from agentrig.core.llm.serving import ReferenceModelServer

from .conftest import ALARM, STATUS_TOOL, SYSTEM, TOOLS

MODEL = "agentrig-operator"


def _messages() -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ALARM}]


@pytest.fixture
def client(server: ReferenceModelServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as opened:
        yield opened


def _answer_tools(messages: list[dict[str, Any]], message: Any) -> None:
    """Append the assistant turn and a fake result per tool call, as a tool loop would."""
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls or []:
        result = {"ok": True, "tool": call.function.name, "pressure_bar": 9.1}
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})


def test_sync_tool_loop_calls_tools_then_answers(client: openai.OpenAI) -> None:
    messages = _messages()
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.function.name for c in choice.message.tool_calls or []] == [
        "check_device_status",
        "read_telemetry",
    ]
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"device_id": "pump-07"}
    assert first.model == MODEL
    assert first.usage is not None
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    _answer_tools(messages, choice.message)
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    answer = second.choices[0]
    assert answer.finish_reason == "stop"
    assert answer.message.tool_calls is None
    assert "ROOT_CAUSE: blocked_discharge" in (answer.message.content or "")
    # the policy saw both results, and its role from the system prompt
    assert "I am the monitor" in (answer.message.content or "")
    assert '"pressure_bar": 9.1' in (answer.message.content or "")


async def test_async_client_gets_the_same_reply(server: ReferenceModelServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="unused") as client:
        reply = await client.chat.completions.create(model=MODEL, messages=_messages(), tools=TOOLS)
    with openai.OpenAI(base_url=server.base_url, api_key="unused") as client:
        sync_reply = client.chat.completions.create(model=MODEL, messages=_messages(), tools=TOOLS)
    assert reply.model_dump() == sync_reply.model_dump()


def test_streamed_tool_calls_arrive_as_deltas_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=_messages(),
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    headers = [
        tc
        for chunk in chunks
        for choice in chunk.choices
        for tc in choice.delta.tool_calls or []
        if tc.id is not None
    ]
    assert [(h.index, h.function and h.function.name) for h in headers] == [
        (0, "check_device_status"),
        (1, "read_telemetry"),
    ]
    fragments: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                if tc.function and tc.function.arguments:
                    fragments[tc.index] = fragments.get(tc.index, "") + tc.function.arguments
    # arguments come in several fragments and join into the complete JSON
    assert (
        sum(
            1 for c in chunks for ch in c.choices for t in ch.delta.tool_calls or [] if t.id is None
        )
        > 2
    )
    assert json.loads(fragments[0]) == {"device_id": "pump-07"}
    finish = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finish == ["tool_calls"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    # the stream carries exactly what the non-streamed reply carries
    whole = client.chat.completions.create(model=MODEL, messages=_messages(), tools=TOOLS)
    assert chunks[-1].usage.model_dump() == whole.usage.model_dump()  # type: ignore[union-attr]


def test_streamed_text_joins_into_the_answer(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model=MODEL, messages=_messages()) as stream:
        final = stream.get_final_completion()
    content_chunks = 0
    whole = client.chat.completions.create(model=MODEL, messages=_messages())
    for chunk in client.chat.completions.create(model=MODEL, messages=_messages(), stream=True):
        content_chunks += sum(1 for ch in chunk.choices if ch.delta.content)
    assert final.choices[0].message.content == whole.choices[0].message.content
    assert content_chunks > 5  # token by token, not one blob
    assert whole.usage is not None
    assert whole.usage.completion_tokens == content_chunks


async def test_async_stream(server: ReferenceModelServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="unused") as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=_messages(), stream=True, stream_options={"include_usage": True}
        )
        text = ""
        usage = None
        async for chunk in stream:
            text += "".join(ch.delta.content or "" for ch in chunk.choices)
            usage = chunk.usage or usage
    assert "ROOT_CAUSE: blocked_discharge" in text
    assert usage is not None
    assert usage.prompt_tokens > 0


def test_tool_choice_none_answers_in_text(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=_messages(), tools=TOOLS, tool_choice="none"
    )
    assert reply.choices[0].message.tool_calls is None
    assert "ROOT_CAUSE" in (reply.choices[0].message.content or "")


def test_tool_choice_named_calls_that_tool_only(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=_messages(),
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "read_telemetry"}},
    )
    calls = reply.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["read_telemetry"]
    assert json.loads(calls[0].function.arguments) == {"device_id": "pump-07"}


def test_tool_choice_required_calls_a_tool_even_when_the_policy_is_done(
    client: openai.OpenAI,
) -> None:
    messages = _messages()
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    _answer_tools(messages, first.choices[0].message)
    done = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    assert done.choices[0].message.tool_calls is None  # with auto it would answer
    forced = client.chat.completions.create(
        model=MODEL, messages=messages, tools=TOOLS, tool_choice="required"
    )
    calls = forced.choices[0].message.tool_calls or []
    assert len(calls) == 1
    assert calls[0].function.name == "check_device_status"
    assert json.loads(calls[0].function.arguments) == {"device_id": "pump-07"}


def test_parallel_tool_calls_false_calls_one_at_a_time(client: openai.OpenAI) -> None:
    messages = _messages()
    names = []
    for _ in range(3):
        reply = client.chat.completions.create(
            model=MODEL, messages=messages, tools=TOOLS, parallel_tool_calls=False
        )
        calls = reply.choices[0].message.tool_calls or []
        assert len(calls) <= 1
        names += [c.function.name for c in calls]
        _answer_tools(messages, reply.choices[0].message)
    assert names == ["check_device_status", "read_telemetry"]
    assert "ROOT_CAUSE" in (reply.choices[0].message.content or "")


def test_tool_call_ids_are_unique_and_deterministic(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model=MODEL, messages=_messages(), tools=TOOLS)
    again = client.chat.completions.create(model=MODEL, messages=_messages(), tools=TOOLS)
    ids = [c.id for c in first.choices[0].message.tool_calls or []]
    assert len(set(ids)) == 2
    assert ids == [c.id for c in again.choices[0].message.tool_calls or []]
    assert all(i.startswith("call_") for i in ids)


def test_max_tokens_truncates_with_finish_reason_length(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=MODEL, messages=_messages())
    cut = client.chat.completions.create(model=MODEL, messages=_messages(), max_tokens=5)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None
    assert cut.usage.completion_tokens == 5
    content = cut.choices[0].message.content or ""
    assert content
    assert (whole.choices[0].message.content or "").startswith(content)
    newer = client.chat.completions.create(
        model=MODEL, messages=_messages(), max_completion_tokens=5
    )
    assert newer.choices[0].message.content == content
    args_cut = client.chat.completions.create(
        model=MODEL, messages=_messages(), tools=TOOLS, max_tokens=8
    )
    assert args_cut.choices[0].finish_reason == "length"
    calls = args_cut.choices[0].message.tool_calls or []
    assert len(calls) == 1
    with pytest.raises(json.JSONDecodeError):
        json.loads(calls[0].function.arguments)


def test_stop_sequence_cuts_the_text(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=_messages(), stop=["ROOT_CAUSE"])
    content = reply.choices[0].message.content or ""
    assert content.startswith("I am the monitor")
    assert "ROOT_CAUSE" not in content
    assert reply.choices[0].finish_reason == "stop"


def test_json_schema_response_format_fills_the_schema(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "root_cause": {"type": "string", "enum": ["bearing_wear", "blocked_discharge"]},
            "device": {"type": "string"},
            "escalated": {"type": "boolean"},
            "summary": {"type": "string"},
            "actions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["root_cause", "device", "escalated", "summary", "actions"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=_messages(),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "diagnosis", "schema": schema, "strict": True},
        },
    )
    from jsonschema import validate

    value = json.loads(reply.choices[0].message.content or "")
    validate(value, schema)
    assert value["root_cause"] == "blocked_discharge"
    assert value["device"] == "pump-07"
    assert value["escalated"] is False
    assert "I am the monitor" in value["summary"]


def test_json_object_response_format(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=_messages(), response_format={"type": "json_object"}
    )
    value = json.loads(reply.choices[0].message.content or "")
    assert value["root_cause"] == "blocked_discharge"
    assert value["device"] == "pump-07"


def test_content_parts_names_and_unknown_fields_are_accepted(server: ReferenceModelServer) -> None:
    body = {
        "model": MODEL,
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": SYSTEM}]},
            {"role": "user", "name": "dispatcher", "content": [{"type": "text", "text": ALARM}]},
        ],
        "tools": [{**STATUS_TOOL, "function": {**STATUS_TOOL["function"], "strict": True}}],
        "temperature": 0.2,
        "seed": 7,
        "user": "someone",
        "metadata": {"team": "x"},
        "some_future_field": {"nested": True},
    }
    response = httpx.post(f"{server.base_url}/chat/completions", json=body)
    assert response.status_code == 200, response.text
    calls = response.json()["choices"][0]["message"]["tool_calls"]
    assert calls[0]["function"]["name"] == "check_device_status"


def test_models_are_listed_and_retrievable(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["agentrig-operator", "agentrig-operator-hasty", "agentrig-operator-sloppy"]
    model = client.models.retrieve("agentrig-operator-hasty")
    assert model.owned_by == "agentrig"
    assert not any("gpt" in i for i in ids)


def test_threads_and_event_loops_share_one_server(server: ReferenceModelServer) -> None:
    """Sync clients in threads and async clients on their own loops, all at once."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    def sync_call(_: int) -> str:
        with openai.OpenAI(base_url=server.base_url, api_key="unused") as sync_client:
            reply = sync_client.chat.completions.create(
                model=MODEL, messages=_messages(), tools=TOOLS
            )
        return reply.model_dump_json()

    async def async_calls() -> list[str]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="unused") as async_client:
            replies = await asyncio.gather(
                *(
                    async_client.chat.completions.create(
                        model=MODEL, messages=_messages(), tools=TOOLS
                    )
                    for _ in range(8)
                )
            )
        return [reply.model_dump_json() for reply in replies]

    with ThreadPoolExecutor(max_workers=6) as pool:
        threaded = list(pool.map(sync_call, range(8)))
        looped = pool.submit(asyncio.run, async_calls()).result()
    assert len(set(threaded + looped)) == 1  # 16 concurrent calls, one deterministic answer
