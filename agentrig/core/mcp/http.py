"""The plant's MCP servers over streamable HTTP, with the checks tools that actuate a plant need.

One endpoint per role, ``http://HOST:PORT/mcp/<role>``, each a streamable HTTP transport of the
official SDK. These tools restart pumps and open valves, so:

- **Loopback by default.** :func:`check_bind` refuses a non-loopback host unless a bearer token is
  set; with a token, every request must carry ``Authorization: Bearer <token>`` (401 otherwise).
- **DNS rebinding.** The SDK's ``TransportSecuritySettings`` is on: the ``Host`` header must name
  the bound address and port (421 otherwise) and an ``Origin`` header, when a browser sends one,
  must be the server's own origin or one passed in ``allowed_origins`` (403 otherwise), as the MCP
  specification asks of HTTP servers. Clients that send no ``Origin`` (every SDK client) pass.

:class:`PlantMcpHttpServer` runs uvicorn as a task on the caller's event loop -- the loop that owns
the executor's store connections and the run's telemetry -- and can be restarted on the same port
(the sessions of the clients are lost, as with a real server restart).

A comparison serves each run's tools from a server of its own, all on one event loop, so an
embedded server leaves the process's signal handlers alone (:class:`_EmbeddedServer`). uvicorn's
``serve()`` points SIGTERM and SIGINT at its ``handle_exit`` and puts back what it found when it
returns; sse-starlette (the SDK's SSE responses) finds "the" uvicorn server through the SIGTERM
handler and, once that server's ``should_exit`` is set, ends every SSE response of the thread.
With servers starting and stopping out of order, a stopped server's handler stayed installed while
others served, and their in-flight tool results were cut: the call reached the plant and the
client waited out its timeout (tests/core/mcp/test_server.py). ``agentrig mcp serve``, the only
server in its process, keeps uvicorn's graceful stop on SIGTERM (``handle_signals=True``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Self

import anyio
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentrig.core.contract.mcp import McpEndpoint
from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.mcp.server import PlantToolService, role_server
from agentrig.exceptions import ConfigurationError, MissingExtraError

try:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings
except ImportError as error:
    raise MissingExtraError("the MCP server (agentrig mcp serve, --tools mcp)", "mcp") from error


__all__ = ["PlantMcpHttpServer", "check_bind", "is_loopback", "plant_http_app"]

logger = structlog.get_logger(__name__)

# The SDK logs one INFO line per request ("Processing request of type CallToolRequest") and, on
# both ends, per session start and stop ("Received session ID", "Negotiated protocol version",
# "Terminating session"): four lines a role, 1,350 in a 252-run comparison, most of its console.
# Its warnings and errors still show, except the one below. (mcp 2.x logs "Terminating session"
# from its transport module too.)
for _name in (
    "mcp.server.lowlevel.server",
    "mcp.server.streamable_http_manager",
    "mcp.server.streamable_http",
    "mcp.client.streamable_http",
):
    logging.getLogger(_name).setLevel(logging.WARNING)


class _SessionEndNoise(logging.Filter):
    """Drop mcp 1.x's traceback for the end of every session, not a failure.

    A client ending its session (DELETE) makes the transport close the memory stream that its
    standalone SSE writer (``mcp/server/streamable_http.py``, ``standalone_sse_writer``) is still
    reading, which raises ``anyio.ClosedResourceError`` and logs "Error in standalone SSE writer"
    at ERROR with a traceback: once per role session, 336 in a 252-run comparison. Any other error
    of that writer, and every other record, still shows.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage() == "Error in standalone SSE writer"
            and isinstance(error, anyio.ClosedResourceError)
        )


logging.getLogger("mcp.server.streamable_http").addFilter(_SessionEndNoise())

_STARTUP_TIMEOUT_S = 10.0
_GRACEFUL_SHUTDOWN_S = 1
"""How long a stopping server waits for open responses before it cancels them. A client's
session keeps an SSE stream open for as long as the session lives, so without a limit a stop (or
a restart, which is meant to drop every session) waits for the clients to hang up, which they
never do on their own."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn that installs no signal handlers: one of many servers in the caller's process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def is_loopback(host: str) -> bool:
    """Whether ``host`` only ever reaches this machine (127.0.0.0/8, ::1, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve the plant's tools beyond this machine without a bearer token.

    Raises:
        ConfigurationError: ``host`` is not loopback and no token is set.
    """
    if not is_loopback(host) and not token:
        raise ConfigurationError(
            f"refusing to serve the plant's tools on {host}: they actuate a plant and {host} is "
            "reachable from other machines; bind 127.0.0.1 (the default) or set a bearer token "
            "(--token or AGENTRIG_MCP_TOKEN) that every client must send"
        )


def security_settings(
    host: str, port: int, allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """Host and Origin checks for a server on ``host:port`` (DNS-rebinding protection)."""
    names = {host, "127.0.0.1", "localhost", "[::1]"} if is_loopback(host) else {host}
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted(f"{name}:{port}" for name in names),
        allowed_origins=sorted({*(f"http://{name}:{port}" for name in names), *allowed_origins}),
    )


class _BearerToken:
    """ASGI middleware: 401 unless ``Authorization: Bearer <token>`` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = Response(
                    "missing or wrong bearer token",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Transport:
    """A session manager as a Starlette route endpoint (an ASGI app, not a request handler)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


def plant_http_app(
    service: PlantToolService,
    *,
    host: str,
    port: int,
    token: str | None = None,
    allowed_origins: Sequence[str] = (),
    roles: Sequence[Role] = ROLES,
) -> ASGIApp:
    """The ASGI app serving ``roles``' tools at ``/mcp/<role>`` (see the module docstring).

    Raises:
        ConfigurationError: a non-loopback ``host`` without ``token``.
    """
    check_bind(host, token)
    settings = security_settings(host, port, allowed_origins)
    managers = {
        # SSE responses (the SDK's default): json_response=True costs ~45 ms a call on loopback
        # against ~6 ms (benchmarks/mcp_tools.py, docs/mcp.md).
        role: StreamableHTTPSessionManager(role_server(role, service), security_settings=settings)
        for role in roles
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for manager in managers.values():
                await stack.enter_async_context(manager.run())
            yield

    routes = [
        Route(f"/mcp/{role}", endpoint=_Transport(manager), methods=["GET", "POST", "DELETE"])
        for role, manager in managers.items()
    ]
    app: ASGIApp = Starlette(routes=routes, lifespan=lifespan)
    return _BearerToken(app, token) if token else app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # proto IPPROTO_TCP, not 0: connections accepted from this socket inherit it, and asyncio
    # sets TCP_NODELAY only on sockets whose proto says TCP (base_events._set_nodelay). Without
    # it Nagle held back each response body written after its headers on a kept-alive
    # connection until the client's delayed ACK, ~40 ms later: every call of mcp 2.x's Client
    # (JSON responses on the 2026-07-28 protocol) took ~48 ms instead of ~5 (docs/mcp.md).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot bind the MCP server to {host}:{port}: {exc}") from exc
    return sock


class PlantMcpHttpServer:
    """The plant's MCP endpoints on ``host:port`` (0: a free port), served on the running loop.

    ``async with PlantMcpHttpServer(service) as server: server.endpoints()`` -- one
    :class:`McpEndpoint` per role, the token (if any) in its headers.
    """

    def __init__(
        self,
        service: PlantToolService,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        allowed_origins: Sequence[str] = (),
        handle_signals: bool = False,
    ) -> None:
        check_bind(host, token)
        self.service = service
        self.host = host
        self.token = token
        self.allowed_origins = tuple(allowed_origins)
        self.handle_signals = handle_signals
        """uvicorn's own SIGTERM/SIGINT handling: only for the one server of a process."""
        self._port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.restarts = 0

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"http://{host}:{self.port}"

    def endpoints(self, timeout_s: float = 30.0) -> dict[Role, McpEndpoint]:
        """Each role's endpoint, as an adapter's MCP client connects to it."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {
            role: McpEndpoint(
                transport="streamable_http",
                url=f"{self.url}/mcp/{role}",
                headers=headers,
                timeout_s=timeout_s,
            )
            for role in ROLES
        }

    async def start(self) -> Self:
        """Bind (the same port on a restart) and serve; returns once requests are accepted."""
        sock = self._socket = _bind(self.host, self._port)
        self._port = sock.getsockname()[1]
        app = plant_http_app(
            self.service,
            host=self.host,
            port=self._port,
            token=self.token,
            allowed_origins=self.allowed_origins,
        )
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
        )
        server_class = uvicorn.Server if self.handle_signals else _EmbeddedServer
        server = self._server = server_class(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="agentrig-mcp-http")
        deadline = asyncio.get_running_loop().time() + _STARTUP_TIMEOUT_S
        while not server.started:
            if self._task.done() or asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise ConfigurationError(f"the MCP server on {self.url} did not start")
            await asyncio.sleep(0.005)
        logger.debug("mcp server started", url=self.url)
        return self

    async def stop(self) -> None:
        """Stop serving (open client sessions end) and release the port."""
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None:
            server.should_exit = True
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we were cancelled, not (only) the server's task: pass it on
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def restart(self) -> None:
        """Stop and start again on the same port: every client session is gone, as after a crash."""
        await self.stop()
        self.restarts += 1
        await self.start()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"PlantMcpHttpServer({self.url!r})"
