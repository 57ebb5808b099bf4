"""Running the reference model: in-process on a free port, or standalone (``agentrig model serve``).

:class:`ReferenceModelServer` runs uvicorn in a background thread with its own event loop, so
synchronous clients (CrewAI), async clients on any loop, and other threads can all call it::

    with ReferenceModelServer() as server:            # or: async with ReferenceModelServer() ...
        client = openai.OpenAI(base_url=server.base_url, api_key="unused")
        client.chat.completions.create(model="agentrig-operator", messages=[...])
        server.fault_counts()                         # {"rate_limit": 0, ...}
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import structlog
import uvicorn
from pydantic import SecretStr

from agentrig.core.llm.brain import Decide
from agentrig.core.llm.faults import FaultProfile
from agentrig.core.llm.latency import LatencyModel
from agentrig.core.llm.server import ReferenceModelApp, ServerSettings
from agentrig.exceptions import ModelError

__all__ = ["ReferenceModelServer", "serve_forever"]

log = structlog.get_logger(__name__)

_STARTUP_TIMEOUT_SECONDS = 10.0
# In-flight requests (a timeout fault sleeping) get this long to finish when the server stops.
_GRACEFUL_SHUTDOWN_SECONDS = 1


def _settings(
    faults: FaultProfile | str | None,
    latency: LatencyModel | str | None,
    seed: int,
    api_key: SecretStr | str | None,
) -> ServerSettings:
    return ServerSettings(
        faults=FaultProfile.resolve(faults),
        latency=latency if isinstance(latency, LatencyModel) else LatencyModel.parse(latency),
        seed=seed,
        api_key=SecretStr(api_key) if isinstance(api_key, str) else api_key,
    )


class ReferenceModelServer:
    """The reference model on ``host:port`` (port 0: a free one) in a background thread.

    Args:
        faults: a profile name (``none``, ``flaky``, ``hostile``), a profile file, or a profile.
        latency: a latency spec (``off``, ``realistic``, ``400ms+15ms/token~30%``) or model.
        seed: mixed into every seeded draw (personas, faults, latency).
        api_key: when given, requests must send it as a bearer token (else 401).
        decide: the brain; defaults to the plant's expert policy.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultProfile | str | None = None,
        latency: LatencyModel | str | None = None,
        seed: int = 0,
        api_key: SecretStr | str | None = None,
        decide: Decide | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.app = ReferenceModelApp(_settings(faults, latency, seed, api_key), decide)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        if self._socket is None:
            raise ModelError("the reference model server is not running; call start() first")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://host:port`` (no path)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://host:port/v1``."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------ faults

    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far, by kind (also at ``GET /v1/faults``)."""
        return self.app.faults.counts()

    def reset_faults(self) -> None:
        """Zero the counts and attempt numbers, so the next run meets the same faults again."""
        self.app.faults.reset()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind the port and serve in a background thread; returns once requests are accepted."""
        if self.running:
            return self
        sock = self._socket = _bind(self.host, self.requested_port)
        config = uvicorn.Config(
            self.app.asgi,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        )
        server = self._server = uvicorn.Server(config)
        self._error = None
        thread = self._thread = threading.Thread(
            target=self._serve,
            args=(server, sock),
            name=f"agentrig-reference-model-{self.port}",
            daemon=True,
        )
        thread.start()
        self._wait_until_started(server, thread)
        log.debug("reference model started", base_url=self.base_url)
        return self

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to start()/stop() in the caller's thread
            self._error = exc
            log.exception("reference model server crashed")

    def _wait_until_started(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        if not server.started:
            self.stop()
            raise ModelError(f"the reference model server did not start: {self._error!r}")

    def stop(self) -> None:
        """Stop serving and wait for the thread (in-flight requests get a second to finish)."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_GRACEFUL_SHUTDOWN_SECONDS + 10)
            if thread.is_alive():
                log.error("reference model server thread did not stop", thread=thread.name)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None
        self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # Starting binds a socket and waits for the thread: keep it off the caller's event loop.
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"ReferenceModelServer({where}, faults={self.app.settings.faults.name!r})"


def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    faults: FaultProfile | str | None = None,
    latency: LatencyModel | str | None = None,
    seed: int = 0,
    api_key: SecretStr | str | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C (``agentrig model serve``), with an access log.

    ``on_listening`` gets the base URL once the port is bound (with port 0: the port chosen).
    """
    app = ReferenceModelApp(_settings(faults, latency, seed, api_key))
    sock = _bind(host, port)
    if on_listening is not None:
        on_listening(f"http://{host}:{sock.getsockname()[1]}/v1")
    # Without a bound, SIGTERM waits for every in-flight request, however long it sleeps.
    config = uvicorn.Config(
        app.asgi,
        lifespan="off",
        log_level="info",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    # proto IPPROTO_TCP, not 0: accepted connections inherit it, and asyncio sets TCP_NODELAY only
    # on sockets whose proto says TCP (base_events._set_nodelay). With proto 0, Nagle held a
    # response written in two parts until the client's delayed ACK: ~40 ms a call for a client on
    # httpx 0.29 (Google ADK's environment), against ~1 ms (benchmarks/reference_model.py).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ModelError(f"cannot bind the reference model to {host}:{port}: {exc}") from exc
    sock.set_inheritable(True)
    return sock
