"""One client cache per event loop, shared by every adapter.

An async model client's connection pool belongs to the event loop it first ran on: a client
reused on another loop fails ("Event loop is closed", or hangs on a dead pool). Adapters build
clients once per (loop, endpoint) -- some are costly, a ``crewai.LLM`` loads certificates for
~38 ms -- and close them in ``aclose()`` when the runs of that loop are done.

Keyed weakly by the loop object, never by ``id(loop)``: a loop that is gone can never hand its
dead pool to a new loop that reuses its id() (CPython reuses the address of a freed object at
once, so ``asyncio.run`` twice in a row often gets the same id). A client whose open connections
still reference their loop keeps that loop -- and so its entry -- alive until ``aclose()``; the
loop's id is then not free for reuse either, so the cache stays right either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from agentrig.core.llm.endpoints import ModelEndpoint

__all__ = ["LoopClients", "endpoint_digest"]

ClientT = TypeVar("ClientT")


def endpoint_digest(endpoint: ModelEndpoint) -> str:
    """A key for one endpoint's client: its model id and every client option (key included)."""
    options = {**endpoint.client_options(), "model": endpoint.model}
    # Hashed so the API key is never kept in a readable key.
    return hashlib.sha256(repr(sorted(options.items())).encode()).hexdigest()


class LoopClients(Generic[ClientT]):
    """Clients per (event loop, key), built on first use; thread-safe.

    Example::

        clients: LoopClients[AsyncOpenAI] = LoopClients()
        client = clients.get(endpoint_digest(endpoint), lambda: AsyncOpenAI(**options))
        ...
        for client in clients.pop_loop():  # in aclose(), on the same loop
            await client.close()
    """

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ClientT]] = (
            weakref.WeakKeyDictionary()
        )
        # CrewAI builds its client from the crew's worker thread, for the run's loop.
        self._lock = threading.Lock()

    def get(
        self,
        key: str,
        build: Callable[[], ClientT],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> ClientT:
        """The client under ``key`` for ``loop`` (the running loop by default), built if new."""
        owner = loop or asyncio.get_running_loop()
        with self._lock:
            per_loop = self._by_loop.setdefault(owner, {})
            client = per_loop.get(key)
            if client is None:
                client = per_loop[key] = build()
            return client

    def pop_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> list[ClientT]:
        """Forget and return ``loop``'s clients (the running loop's by default), to be closed."""
        owner = loop or asyncio.get_running_loop()
        with self._lock:
            return list(self._by_loop.pop(owner, {}).values())

    def of_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> list[ClientT]:
        """``loop``'s clients (the running loop's by default), left in the cache."""
        owner = loop or asyncio.get_running_loop()
        with self._lock:
            return list(self._by_loop.get(owner, {}).values())

    def count(self, loop: asyncio.AbstractEventLoop | None = None) -> int:
        """How many clients ``loop`` has, or all loops together when None."""
        with self._lock:
            if loop is not None:
                return len(self._by_loop.get(loop, {}))
            return sum(len(clients) for clients in self._by_loop.values())
