"""One process-wide httpx patch that sends each request to the cassette of the run it belongs to.

vcrpy's ``use_cassette`` patches httpx globally for one cassette at a time, so two runs recording
or replaying at once (``agentrig compare`` runs several, on asyncio tasks and CrewAI's worker
threads) would fight over it. Here the patch is installed once and never swapped: the cassette
of the current run lives in a :mod:`contextvars` variable, which asyncio tasks inherit and
agentrig's context-carrying threads (``agentrig.core.telemetry.context``) copy, and each request
is handed to whichever cassette its context holds. Only model API calls (paths ending in
:data:`MODEL_API_SUFFIXES`) go to cassettes; any other request passes through untouched.

The patch sits on ``httpx.HTTPTransport.handle_request`` and
``httpx.AsyncHTTPTransport.handle_async_request``: below the client (redirects, auth, cookies
and the response wrapping stay httpx's own) and above the connection pool, so a replayed
request never opens a socket. Every OpenAI-compatible client here (openai, LangChain,
AutoGen, CrewAI) reaches its server through these two transports.

It also holds the test suites' guard: while :func:`block_model_requests` is active, a request
to a model API that no cassette answers fails (``LiveModelRequestError``) and is remembered, so
the test fails even when a framework swallows the error.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

import httpx
import structlog

from agentrig.exceptions import CassetteError, LiveModelRequestError

__all__ = [
    "MODEL_API_SUFFIXES",
    "REPLAY_HOST",
    "ExchangeHandler",
    "allow_model_requests",
    "bind_exchange_handler",
    "block_model_requests",
    "current_exchange_handler",
    "install_cassette_transport",
    "is_model_request",
]

logger = structlog.get_logger(__name__)

REPLAY_HOST = "agentrig-replay.invalid"
"""The host of a replayed endpoint's base URL; ``.invalid`` never resolves (RFC 2606)."""

MODEL_API_SUFFIXES = ("/chat/completions", "/completions", "/embeddings", "/responses", "/models")

SyncSend = Callable[[httpx.Request], httpx.Response]
AsyncSend = Callable[[httpx.Request], Awaitable[httpx.Response]]


class ExchangeHandler(Protocol):
    """Answers requests made in its context: from a recording, or by sending and recording."""

    def handle(self, request: httpx.Request, send: SyncSend) -> httpx.Response: ...

    async def ahandle(self, request: httpx.Request, send: AsyncSend) -> httpx.Response: ...


_current: ContextVar[ExchangeHandler | None] = ContextVar("agentrig_cassette", default=None)


def current_exchange_handler() -> ExchangeHandler | None:
    """The cassette that answers requests made in this context, if any."""
    return _current.get()


@contextmanager
def bind_exchange_handler(handler: ExchangeHandler) -> Iterator[None]:
    """Route this context's requests (and those of tasks and threads it starts) to ``handler``."""
    install_cassette_transport()
    token = _current.set(handler)
    try:
        yield
    finally:
        try:
            _current.reset(token)
        except ValueError:
            # Ended in another context than it began (a pytest fixture set up by an async test
            # and torn down outside it): the context that held the binding is gone with it.
            logger.debug("cassette binding ended outside the context it was made in")


def is_model_request(request: httpx.Request) -> bool:
    """Whether ``request`` goes to an OpenAI-style model API route."""
    path = request.url.path.rstrip("/")
    return path.endswith(MODEL_API_SUFFIXES) or "/models/" in path


class _Guard:
    """Whether live model requests are blocked, and which were attempted meanwhile."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blocked = False
        self.attempts: list[LiveModelRequestError] = []


_guard = _Guard()


@contextmanager
def block_model_requests() -> Iterator[list[LiveModelRequestError]]:
    """Fail every live model request inside the block; yields the list of those attempted.

    Requests a cassette answers are not live and pass. Meant for test suites (like
    pydantic-ai's ``ALLOW_MODEL_REQUESTS = False``); the flag is process-wide, because a
    framework's worker thread may not carry the test's context.
    """
    install_cassette_transport()
    with _guard.lock:
        previous, _guard.blocked = _guard.blocked, True
        attempts, _guard.attempts = _guard.attempts, []
    try:
        yield _guard.attempts
    finally:
        with _guard.lock:
            _guard.blocked = previous
            _guard.attempts = attempts


@contextmanager
def allow_model_requests() -> Iterator[None]:
    """Let live model requests through inside the block, even under :func:`block_model_requests`."""
    with _guard.lock:
        previous, _guard.blocked = _guard.blocked, False
    try:
        yield
    finally:
        with _guard.lock:
            _guard.blocked = previous


def _check_live(request: httpx.Request) -> None:
    if request.url.host == REPLAY_HOST:
        raise CassetteError(
            f"{request.method} {request.url} went to the placeholder of a replayed endpoint "
            "with no cassette to answer it: either it is not a model API call (cassettes hold "
            f"only {', '.join(MODEL_API_SUFFIXES)}), or the code that sent it lost the run's "
            "context (start threads with agentrig.core.telemetry.context.start_thread or "
            "ContextThreadPoolExecutor so the cassette goes with them)"
        )
    if not is_model_request(request):
        return
    with _guard.lock:
        if not _guard.blocked:
            return
        error = LiveModelRequestError(request.method, str(request.url))
        _guard.attempts.append(error)
    logger.error("live model request blocked", method=request.method, url=str(request.url))
    raise error


_install_lock = threading.Lock()
_original_handle_request: Callable[[httpx.HTTPTransport, httpx.Request], httpx.Response] | None = (
    None
)
_original_handle_async_request: (
    Callable[[httpx.AsyncHTTPTransport, httpx.Request], Awaitable[httpx.Response]] | None
) = None


def _handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    original = _original_handle_request
    assert original is not None  # installed before this function is

    def send(outgoing: httpx.Request) -> httpx.Response:
        _check_live(outgoing)
        return original(transport, outgoing)

    handler = _current.get()
    if handler is None or not is_model_request(request):
        return send(request)
    return handler.handle(request, send)


async def _handle_async_request(
    transport: httpx.AsyncHTTPTransport, request: httpx.Request
) -> httpx.Response:
    original = _original_handle_async_request
    assert original is not None  # installed before this function is

    async def send(outgoing: httpx.Request) -> httpx.Response:
        _check_live(outgoing)
        return await original(transport, outgoing)

    handler = _current.get()
    if handler is None or not is_model_request(request):
        return await send(request)
    return await handler.ahandle(request, send)


def install_cassette_transport() -> None:
    """Patch httpx's two transports once per process (idempotent, thread-safe).

    Outside any cassette and guard the patched transports behave exactly as httpx's own.
    """
    global _original_handle_request, _original_handle_async_request
    with _install_lock:
        if _original_handle_request is not None:
            return
        _original_handle_request = httpx.HTTPTransport.handle_request
        _original_handle_async_request = httpx.AsyncHTTPTransport.handle_async_request
        httpx.HTTPTransport.handle_request = _handle_request  # type: ignore[method-assign,assignment]
        httpx.AsyncHTTPTransport.handle_async_request = _handle_async_request  # type: ignore[method-assign,assignment]
