"""The Chat Completions wire format: lenient request models and the response bodies we send.

Requests are parsed the way OpenAI parses them: unknown fields are ignored, known fields are
validated, and a bad one becomes a :class:`~agentrig.exceptions.ModelRequestError` naming the
parameter (``messages[2].tool_calls[0].function``) so the server can answer with OpenAI's error JSON.

Responses are plain dicts built to validate against OpenAI's published OpenAPI document
(``CreateChatCompletionResponse``, ``CreateChatCompletionStreamResponse``, ``ListModelsResponse``,
``Model``, ``ErrorResponse``); ``tests/core/llm/test_spec.py`` checks every kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.llm.tokens import split_tokens
from agentrig.exceptions import ModelRequestError

__all__ = [
    "ChatCompletionRequest",
    "ChatMessage",
    "Completion",
    "FunctionCall",
    "FunctionDefinition",
    "JsonSchemaFormat",
    "NamedToolChoice",
    "OutgoingToolCall",
    "ResponseFormat",
    "StreamOptions",
    "ToolCall",
    "ToolDefinition",
    "completion_body",
    "error_body",
    "message_text",
    "model_object",
    "parse_chat_request",
    "stream_chunks",
]

FinishReason = Literal["stop", "length", "tool_calls"]


class _Lenient(BaseModel):
    # OpenAI ignores fields it does not know; so do we (frameworks send vendor extras).
    model_config = ConfigDict(extra="ignore", frozen=True)


class FunctionCall(_Lenient):
    name: str
    arguments: str = ""


class ToolCall(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None  # the deprecated single-function form


class FunctionDefinition(_Lenient):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class _ToolName(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: _ToolName


class StreamOptions(_Lenient):
    include_usage: bool = False


class JsonSchemaFormat(_Lenient):
    name: str
    json_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")
    description: str | None = None
    strict: bool | None = None


class ResponseFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class ChatCompletionRequest(_Lenient):
    """A ``POST /v1/chat/completions`` body; sampling knobs are accepted and mostly ignored."""

    model: str
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    seed: int | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None

    @property
    def token_limit(self) -> int | None:
        """``max_completion_tokens`` (the current name) or ``max_tokens`` (the deprecated one)."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_sequences(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop if s]


def _param_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_NOT_AN_OBJECT = "The request body must be a JSON object."


def parse_chat_request(body: bytes | str | dict[str, Any]) -> ChatCompletionRequest:
    """Validate a body (raw JSON, or decoded); raise ModelRequestError naming the bad parameter.

    Raw bytes are parsed and validated in one pass by pydantic's JSON parser (faster than
    ``json.loads`` then validating the dicts).
    """
    try:
        if isinstance(body, bytes | str):
            request = ChatCompletionRequest.model_validate_json(body)
        elif isinstance(body, dict):
            request = ChatCompletionRequest.model_validate(body)
        else:
            raise ModelRequestError(_NOT_AN_OBJECT)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "json_invalid":
            raise ModelRequestError(
                "We could not parse the JSON body of your request. The body must be a JSON "
                "object (Content-Type: application/json)."
            ) from None
        if error["type"] == "model_type" and not error["loc"]:
            raise ModelRequestError(_NOT_AN_OBJECT) from None
        # Drop pydantic's union-branch labels ("str", "list[...]") from the location.
        location = tuple(
            p for p in error["loc"] if isinstance(p, int) or not any(c in p for c in "[]'")
        )
        param = _param_path(location)
        if error["type"] == "missing":
            message = f"Missing required parameter: '{param}'."
        else:
            message = f"Invalid value for '{param}': {error['msg']}."
        raise ModelRequestError(message, param=param, code="invalid_value") from None
    if request.n not in (None, 1):
        raise ModelRequestError(
            "The reference model is deterministic and returns one choice; send n=1 or omit n.",
            param="n",
            code="unsupported_value",
        )
    _check_no_logprobs(request)
    _check_tool_messages(request.messages)
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.json_schema is None:
        raise ModelRequestError(
            "Missing required parameter: 'response_format.json_schema'.",
            param="response_format.json_schema",
            code="missing_required_parameter",
        )
    return request


def _check_no_logprobs(request: ChatCompletionRequest) -> None:
    """Log probabilities are refused rather than answered with ``logprobs: null``.

    A client that asks for them reads ``choices[0].logprobs.content``; a null there crashes it
    far from the cause. The reference model samples nothing, so it has no probabilities to give.
    """
    for param, asked in (
        ("logprobs", request.logprobs is True),
        ("top_logprobs", bool(request.top_logprobs)),
    ):
        if asked:
            raise ModelRequestError(
                f"The reference model does not return log probabilities: omit '{param}' "
                "(or send logprobs=false).",
                param=param,
                code="unsupported_value",
            )


def _check_tool_messages(messages: list[ChatMessage]) -> None:
    """A tool message must answer an earlier assistant tool call (422: we could not follow it)."""
    call_ids: set[str] = set()
    for index, message in enumerate(messages):
        if message.role == "assistant":
            call_ids.update(call.id for call in message.tool_calls or [])
        elif message.role == "tool" and message.tool_call_id not in call_ids:
            raise ModelRequestError(
                f"messages[{index}] is a tool message answering tool_call_id "
                f"{message.tool_call_id!r}, but no earlier assistant message made that call. "
                "Keep each tool message after the assistant message whose tool_calls it answers.",
                status=422,
                param=f"messages[{index}].tool_call_id",
                code="unmatched_tool_call_id",
            )


def message_text(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message: a string, or the ``text`` of its text parts joined in order."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content if isinstance(part.get("text"), str))


# ---------------------------------------------------------------- responses


@dataclass(frozen=True)
class OutgoingToolCall:
    """A tool call in a reply; ``arguments`` is the JSON text exactly as sent (it may be invalid)."""

    id: str
    name: str
    arguments: str


@dataclass
class Completion:
    """One reply of the model, before it is rendered as JSON or as SSE chunks."""

    content: str | None
    tool_calls: list[OutgoingToolCall] = field(default_factory=list)
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    empty_choices: bool = False  # an injected fault: a body with `choices: []`


def _usage(completion: Completion) -> dict[str, Any]:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call_json(call: OutgoingToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def completion_body(
    completion: Completion, *, completion_id: str, model: str, created: int
) -> dict[str, Any]:
    """A ``chat.completion`` object (CreateChatCompletionResponse)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": completion.content,
        "refusal": None,
        "annotations": [],
    }
    if completion.tool_calls:
        message["tool_calls"] = [_tool_call_json(call) for call in completion.tool_calls]
    choices = []
    if not completion.empty_choices:
        choices.append(
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": completion.finish_reason,
            }
        )
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": _usage(completion),
        "service_tier": "default",
        "system_fingerprint": "fp_agentrig",
    }


def stream_chunks(
    completion: Completion,
    *,
    completion_id: str,
    model: str,
    created: int,
    include_usage: bool,
    arguments_piece_chars: int = 16,
) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed reply, in order, as OpenAI sends them.

    A role chunk, one chunk per content token, per tool call a header chunk (index, id, name) and
    argument fragments, a finish chunk, and with ``include_usage`` a last chunk with ``choices: []``
    and the usage (every earlier chunk then carries ``usage: null``).
    """

    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_agentrig",
            "choices": choices,
        }
        if include_usage:
            body["usage"] = usage
        return body

    def delta(content: dict[str, Any], finish: FinishReason | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

    if completion.empty_choices:
        # The injected fault: the stream carries a chunk with no choices and nothing else.
        yield chunk([], _usage(completion) if include_usage else None)
        return
    first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
    if completion.content is None and completion.tool_calls:
        first["content"] = None
    yield chunk(delta(first))
    for piece in split_tokens(completion.content or ""):
        yield chunk(delta({"content": piece}))
    for index, call in enumerate(completion.tool_calls):
        header = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield chunk(delta({"tool_calls": [header]}))
        arguments = call.arguments
        for start in range(0, len(arguments), arguments_piece_chars):
            fragment = arguments[start : start + arguments_piece_chars]
            part = {"index": index, "function": {"arguments": fragment}}
            yield chunk(delta({"tool_calls": [part]}))
    yield chunk(delta({}, completion.finish_reason))
    if include_usage:
        yield chunk([], _usage(completion))


def model_object(model_id: str, *, created: int, owned_by: str = "agentrig") -> dict[str, Any]:
    """A ``model`` object (the Model schema)."""
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


def error_body(
    message: str,
    *,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error JSON (the ErrorResponse schema)."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}
