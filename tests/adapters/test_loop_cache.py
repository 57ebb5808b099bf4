"""The per-event-loop client cache every adapter uses: one client per loop, gone with its loop."""

from __future__ import annotations

import asyncio
import gc
import threading

from pydantic import SecretStr

from agentrig.adapters._loop_cache import LoopClients, endpoint_digest
from agentrig.core.llm.endpoints import ModelEndpoint


class Client:
    def __init__(self, number: int) -> None:
        self.number = number


def test_one_client_per_loop_and_key_built_once() -> None:
    clients: LoopClients[Client] = LoopClients()
    built: list[int] = []

    def build() -> Client:
        built.append(len(built))
        return Client(len(built))

    async def use() -> tuple[Client, Client, Client]:
        return clients.get("a", build), clients.get("a", build), clients.get("b", build)

    first, again, other = asyncio.run(use())
    assert first is again
    assert other is not first
    assert built == [0, 1]


def test_a_loop_that_is_gone_takes_its_clients_with_it() -> None:
    # Keyed by id(loop), the entry would outlive its loop, and a new loop reusing that id --
    # CPython hands a freed address out again at once -- would get the dead loop's client.
    clients: LoopClients[Client] = LoopClients()
    loop = asyncio.new_event_loop()
    old = clients.get("a", lambda: Client(1), loop=loop)
    assert clients.count() == 1
    loop.close()
    del loop
    gc.collect()
    assert clients.count() == 0
    newer = asyncio.new_event_loop()
    try:
        assert clients.get("a", lambda: Client(2), loop=newer) is not old
    finally:
        newer.close()


def test_pop_loop_returns_only_that_loops_clients_for_closing() -> None:
    clients: LoopClients[Client] = LoopClients()
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        mine = clients.get("a", lambda: Client(1), loop=first)
        theirs = clients.get("a", lambda: Client(2), loop=second)
        assert clients.pop_loop(first) == [mine]
        assert clients.of_loop(first) == []
        assert clients.of_loop(second) == [theirs]
    finally:
        first.close()
        second.close()


def test_threads_asking_for_one_loops_client_get_the_same_one() -> None:
    # CrewAI builds its client from the crews' worker threads, for the run's loop.
    clients: LoopClients[Client] = LoopClients()
    loop = asyncio.new_event_loop()
    got: list[Client] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        got.append(clients.get("a", lambda: Client(0), loop=loop))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loop.close()
    assert len({id(client) for client in got}) == 1


def test_the_endpoint_key_covers_model_and_options_and_hides_the_key() -> None:
    endpoint = ModelEndpoint(
        provider="openai", model="m", base_url="http://x/v1", api_key=SecretStr("sk-1")
    )
    other_model = endpoint.model_copy(update={"model": "n"})
    other_key = endpoint.model_copy(update={"api_key": SecretStr("sk-2")})
    digests = {endpoint_digest(e) for e in (endpoint, other_model, other_key)}
    assert len(digests) == 3
    assert "sk-1" not in endpoint_digest(endpoint)
