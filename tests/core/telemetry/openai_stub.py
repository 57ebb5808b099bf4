"""A tiny OpenAI-compatible Chat Completions endpoint for telemetry tests (real HTTP, loopback).

It answers by what the request asks: ``stream`` gives SSE chunks (with a usage chunk when
``stream_options.include_usage``), a last user message starting with ``call:<tool>`` gives a tool
call, ``fail:<status>`` gives that HTTP error. Usage is fixed (:data:`PROMPT_TOKENS`,
:data:`COMPLETION_TOKENS`) so tests can assert exact token metrics.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PROMPT_TOKENS = 11
COMPLETION_TOKENS = 5


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def _message(text: str) -> tuple[dict[str, Any], str]:
    if text.startswith("call:"):
        tool, _, arguments = text.removeprefix("call:").partition(" ")
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": tool, "arguments": arguments or "{}"},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": "all normal"}, "stop"


async def chat_completions(request: Request) -> Response:
    body = await request.json()
    text = _last_user_text(body)
    if text.startswith("fail:"):
        status = int(text.removeprefix("fail:"))
        return JSONResponse(
            {"error": {"message": "injected failure", "type": "server_error", "code": None}},
            status_code=status,
        )
    message, finish_reason = _message(text)
    model = body.get("model", "stub")
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
                "usage": usage,
            }
        )
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    async def events() -> AsyncIterator[str]:
        base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": model}
        delta: dict[str, Any] = {"role": "assistant"}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": 0, **message["tool_calls"][0]}]
        else:
            delta["content"] = message["content"]
        created = int(time.time())
        chunks = [
            {
                **base,
                "created": created,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            },
            {
                **base,
                "created": created,
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}],
            },
        ]
        if include_usage:
            chunks.append({**base, "created": created, "choices": [], "usage": usage})
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


class OpenAIStub:
    """The stub served by uvicorn in a background thread on a free loopback port."""

    def __init__(self) -> None:
        app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="openai-stub", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIStub:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the OpenAI stub did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
