"""The reference model's HTTP face: an OpenAI-compatible Starlette app.

Routes::

    POST /v1/chat/completions   the model (JSON or SSE), with fault injection and latency
    GET  /v1/models             the persona model ids;  GET /v1/models/{id}: one of them
    GET  /v1/faults             faults injected so far, by kind (``?completion_ids=a,b``: and
                                which content fault each of those replies carried)
    GET|POST /health            {"status": "ok"} (readiness; the benchmark's floor)

Errors are OpenAI's JSON (``{"error": {"message", "type", "param", "code"}}``) with its statuses:
400 invalid request (a bad ``X-Agentrig-Latency`` header too, ``param`` naming it), 401 missing
or wrong key (when one is required), 404 unknown model or route, 413 body too large, 422 a
conversation that cannot be understood (a tool message answering no earlier tool call; OpenAI
says 400 there). ``created`` is a constant and ids are digests of the request, so the same
request and seed always get the same bytes.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import SecretStr
from pydantic_core import to_json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentrig.core.llm.brain import Decide
from agentrig.core.llm.determinism import digest
from agentrig.core.llm.faults import (
    CONTENT_FAULTS,
    FaultInjector,
    FaultKind,
    FaultProfile,
    apply_content_fault,
)
from agentrig.core.llm.latency import LatencyModel, ReplyTiming
from agentrig.core.llm.model import ReferenceModel
from agentrig.core.llm.personas import PERSONAS, Persona, persona_for
from agentrig.core.llm.protocol import (
    ChatCompletionRequest,
    Completion,
    completion_body,
    error_body,
    model_object,
    parse_chat_request,
    stream_chunks,
)
from agentrig.exceptions import ConfigurationError, ModelError, ModelRequestError

__all__ = ["MODEL_CREATED", "ReferenceModelApp", "ServerSettings"]

log = structlog.get_logger(__name__)

MODEL_CREATED = 1767225600  # 2026-01-01T00:00:00Z: a constant, so replies are byte-stable
LATENCY_HEADER = "x-agentrig-latency"
_RAW_SEND = "agentrig.raw_send"


class _JSONResponse(JSONResponse):
    """JSON rendered by pydantic_core (compact, UTF-8, key order kept): 5x faster than json."""

    def render(self, content: Any) -> bytes:
        return to_json(content)


@dataclass(frozen=True)
class ServerSettings:
    """How the reference model serves: faults, latency, seed, key, size limit."""

    faults: FaultProfile = field(default_factory=lambda: FaultProfile.resolve("none"))
    latency: LatencyModel = field(default_factory=LatencyModel)
    seed: int = 0
    api_key: SecretStr | None = None  # when set, requests must send it as a bearer token
    max_body_bytes: int = 8 * 1024 * 1024


class _ExposeRawSend:
    """Keeps the server's own ``send`` in the scope: resetting a connection needs its transport."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_RAW_SEND] = send
        await self.app(scope, receive, send)


class ReferenceModelApp:
    """The ASGI application (``.asgi``) and the state behind it: model, faults, settings."""

    def __init__(
        self, settings: ServerSettings | None = None, decide: Decide | None = None
    ) -> None:
        self.settings = settings or ServerSettings()
        self.model = ReferenceModel(decide, seed=self.settings.seed)
        self.faults = FaultInjector(self.settings.faults, seed=self.settings.seed)
        routes = [
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/models", self.list_models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", self.get_model, methods=["GET"]),
            Route("/v1/faults", self.fault_counts, methods=["GET"]),
            Route("/health", self.health, methods=["GET", "POST"]),
        ]
        starlette = Starlette(
            routes=routes, exception_handlers={404: self._not_found, 405: self._not_allowed}
        )
        self.asgi: ASGIApp = _ExposeRawSend(starlette)

    # ------------------------------------------------------------ routes

    async def chat_completions(self, request: Request) -> Response:
        try:
            self._authorize(request)
            raw = await self._read_body(request)
            request_key = digest(raw)
            chat = parse_chat_request(raw)
            persona = persona_for(chat.model)
            if persona is None:
                raise _unknown_model(chat.model)
            latency = self._latency(request)
            fault = self.faults.draw(request_key)
            if fault is not None and fault not in CONTENT_FAULTS:
                response = await self._transport_fault(fault, request)
                if response is not None:
                    return response
            completion = self._reply(chat, persona, request_key)
        except ModelRequestError as exc:
            return _error_response(exc)
        headers: dict[str, str] | None = None
        completion_id = f"chatcmpl-{digest('completion', request_key, self.settings.seed, size=12)}"
        if fault is not None:  # the timeout fault (it waited), or a content fault
            if fault in CONTENT_FAULTS:
                offered = [t.function.name for t in chat.tools or []]
                if not apply_content_fault(fault, completion, offered):
                    fault = None  # it cannot change this reply: not injected, not counted
                else:
                    self.faults.record(fault, completion_id)
                    log.info("fault injected", fault=fault.value, model=chat.model)
            if fault is not None:
                headers = {"x-agentrig-fault": fault.value}
        timing = latency.timing(request_key, self.settings.seed)
        if chat.stream:
            # Starlette cancels the stream (and its sleeps) when the client hangs up.
            events = self._events(chat, completion, completion_id, timing)
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        if timing.first_token_seconds or timing.per_token_seconds:
            # A client that gave up must not leave an hour-long sleep behind: it would hold
            # the server's shutdown ("Waiting for background tasks to complete") until it ends.
            await _sleep_unless_disconnected(request, timing.total(completion.completion_tokens))
        body = completion_body(
            completion, completion_id=completion_id, model=chat.model, created=MODEL_CREATED
        )
        return _JSONResponse(body, headers=headers)

    def _reply(self, chat: ChatCompletionRequest, persona: Persona, request_key: str) -> Completion:
        try:
            return self.model.reply(chat, persona, request_key)
        except Exception as exc:
            # A bug in the brain or in reading this conversation: the client gets OpenAI's 500
            # (which it retries), the log gets the traceback.
            log.exception("the reference model failed", model=chat.model, request_key=request_key)
            raise ModelRequestError(
                f"The reference model failed on this request: {type(exc).__name__}: {exc}",
                status=500,
                error_type="server_error",
                code="reference_model_error",
            ) from exc

    async def list_models(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except ModelRequestError as exc:
            return _error_response(exc)
        data = [model_object(model_id, created=MODEL_CREATED) for model_id in PERSONAS]
        return _JSONResponse({"object": "list", "data": data})

    async def get_model(self, request: Request) -> Response:
        model_id = request.path_params["model_id"]
        try:
            self._authorize(request)
            if model_id not in PERSONAS:
                raise _unknown_model(model_id)
        except ModelRequestError as exc:
            return _error_response(exc)
        return _JSONResponse(model_object(model_id, created=MODEL_CREATED))

    async def fault_counts(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except ModelRequestError as exc:
            return _error_response(exc)
        counts = self.faults.counts()
        asked = request.query_params.get("completion_ids", "")
        ids = [cid for cid in asked.split(",") if cid]
        return _JSONResponse(
            {
                "profile": self.settings.faults.name,
                "seed": self.settings.seed,
                "total": sum(counts.values()),
                "counts": counts,
                "injected": self.faults.injected_into(ids),
            }
        )

    async def health(self, request: Request) -> Response:
        return _JSONResponse({"status": "ok"})

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        message = f"Unknown request URL: {request.method} {request.url.path}."
        return _error_response(ModelRequestError(message, status=404, code="unknown_url"))

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        message = f"Method {request.method} is not allowed on {request.url.path}."
        return _error_response(ModelRequestError(message, status=405, code="method_not_allowed"))

    # ------------------------------------------------------------ request handling

    def _authorize(self, request: Request) -> None:
        expected = self.settings.api_key
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ModelRequestError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
                status=401,
                code="missing_api_key",
            )
        if not secrets.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
            raise ModelRequestError(
                "Incorrect API key provided.", status=401, code="invalid_api_key"
            )

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _latency(self, request: Request) -> LatencyModel:
        """The server's latency model, or the request's own from ``X-Agentrig-Latency``."""
        spec = request.headers.get(LATENCY_HEADER)
        if spec is None:
            return self.settings.latency
        try:
            return LatencyModel.parse(spec)
        except ConfigurationError as exc:
            raise ModelRequestError(
                f"Invalid X-Agentrig-Latency header: {exc}",
                param="X-Agentrig-Latency",
                code="invalid_latency_header",
            ) from None

    async def _transport_fault(self, fault: FaultKind, request: Request) -> Response | None:
        """Inject a transport fault; None means: go on and answer (after the timeout delay)."""
        profile = self.settings.faults
        self.faults.record(fault)
        log.info("fault injected", fault=fault.value, path=request.url.path)
        headers = {"x-agentrig-fault": fault.value}
        if fault is FaultKind.RATE_LIMIT:
            seconds = profile.retry_after_seconds
            headers["retry-after"] = str(math.ceil(seconds))
            headers["retry-after-ms"] = str(round(seconds * 1000))
            body = error_body(
                "Rate limit reached for requests (injected by the agentrig fault profile "
                f"{profile.name!r}). Please try again in {seconds:g}s.",
                error_type="requests",
                code="rate_limit_exceeded",
            )
            return _JSONResponse(body, status_code=429, headers=headers)
        if fault is FaultKind.SERVER_ERROR:
            body = error_body(
                "The server had an error while processing your request (injected fault).",
                error_type="server_error",
            )
            return _JSONResponse(body, status_code=500, headers=headers)
        if fault is FaultKind.UNAVAILABLE:
            body = error_body(
                "The engine is currently overloaded, please try again later (injected fault).",
                error_type="server_error",
                code="service_unavailable",
            )
            return _JSONResponse(body, status_code=503, headers=headers)
        if fault is FaultKind.CONNECTION_RESET:
            await _reset_connection(request)
            return Response(status_code=500)  # never sent: the connection is gone
        await _sleep_unless_disconnected(request, _timeout_delay(request, profile))
        return None

    async def _events(
        self,
        chat: ChatCompletionRequest,
        completion: Completion,
        completion_id: str,
        timing: ReplyTiming,
    ) -> AsyncIterator[str]:
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        chunks = stream_chunks(
            completion,
            completion_id=completion_id,
            model=chat.model,
            created=MODEL_CREATED,
            include_usage=include_usage,
        )
        if not (timing.first_token_seconds or timing.per_token_seconds):
            # No latency: one write for the whole stream, the fastest the stack can do.
            yield "".join(_sse(chunk) for chunk in chunks) + "data: [DONE]\n\n"
            return
        await asyncio.sleep(timing.first_token_seconds)
        for chunk in chunks:
            yield _sse(chunk)
            if chunk["choices"] and chunk["choices"][0]["delta"]:
                await asyncio.sleep(timing.per_token_seconds)
        yield "data: [DONE]\n\n"


def _sse(chunk: dict[str, Any]) -> str:
    return f"data: {to_json(chunk).decode()}\n\n"


def _error_response(exc: ModelRequestError) -> JSONResponse:
    body = error_body(exc.message, error_type=exc.error_type, param=exc.param, code=exc.code)
    return _JSONResponse(body, status_code=exc.status)


def _unknown_model(model_id: str) -> ModelRequestError:
    served = ", ".join(PERSONAS)
    return ModelRequestError(
        f"The model '{model_id}' does not exist. The reference model serves: {served}.",
        status=404,
        param="model",
        code="model_not_found",
    )


def _too_large(size: int, limit: int) -> ModelRequestError:
    return ModelRequestError(
        f"The request body is {size} bytes, over the limit of {limit} bytes.",
        status=413,
        code="request_too_large",
    )


def _timeout_delay(request: Request, profile: FaultProfile) -> float:
    """Past the client's read timeout when it says it (the openai SDK does), within the cap."""
    declared = request.headers.get("x-stainless-read-timeout")
    try:
        client_timeout = float(declared) if declared is not None else None
    except ValueError:
        client_timeout = None
    if client_timeout is None:
        return profile.default_delay_seconds
    return min(client_timeout + profile.timeout_margin_seconds, profile.max_delay_seconds)


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the client hangs up first (it usually does: it timed out)."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), timeout=seconds)
    except TimeoutError:
        return


async def _reset_connection(request: Request) -> None:
    """Close the client's TCP connection with a reset and no response (uvicorn's transport)."""
    raw_send = request.scope.get(_RAW_SEND)
    transport: Any = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None or not callable(getattr(transport, "abort", None)):
        raise ModelError("connection_reset needs uvicorn (the server's transport is not reachable)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0: close() sends RST instead of FIN, like a crashed proxy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let uvicorn see the connection lost before we return, so it sends nothing.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
