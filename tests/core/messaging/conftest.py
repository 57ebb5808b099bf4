"""Fixtures of the MessageBus conformance suite: one parameter per backend, and what each promises.

Every bus in these tests runs with short timeouts (``idle_timeout_ms=300``) so that redelivery
tests take a fraction of a second, a low delivery limit (``max_deliveries=3``) and a 64 KiB
message limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentrig.core.messaging import MessageBus, open_message_bus
from tests.core.messaging.support import BUS_OPTIONS, SEMANTICS, OpenBus, OpenBusWith, Semantics


@pytest.fixture(params=list(SEMANTICS))
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def semantics(backend: str) -> Semantics:
    return SEMANTICS[backend]


@pytest.fixture
def bus_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return f"memory://?{BUS_OPTIONS}"
    # Only the Redis backends need the server: memory tests run without it.
    redis_url: str = request.getfixturevalue("redis_url")
    scheme = "redis+pubsub" if backend == "redis-pubsub" else "redis"
    extra = "&prefetch=8" if backend == "redis-streams-prefetch" else ""
    return f"{scheme}{redis_url.removeprefix('redis')}&{BUS_OPTIONS}{extra}"


@pytest.fixture
async def open_bus(backend: str, bus_url: str) -> AsyncIterator[OpenBus]:
    """Open another handle on the same bus, as another process would (memory: the same object,
    since an in-process bus is shared by passing it around). All are closed after the test."""
    opened: list[MessageBus] = []

    async def open_another() -> MessageBus:
        if backend == "memory" and opened:
            return opened[0]
        bus = open_message_bus(bus_url)
        opened.append(bus)
        return bus

    yield open_another
    for bus in opened:
        await bus.close()


@pytest.fixture
async def bus(open_bus: OpenBus) -> MessageBus:
    return await open_bus()


@pytest.fixture
async def open_bus_with(bus_url: str) -> AsyncIterator[OpenBusWith]:
    """Open the bus under test with more URL options; closed after the test."""
    opened: list[MessageBus] = []

    async def open_with(options: str) -> MessageBus:
        bus = open_message_bus(f"{bus_url}&{options}")
        opened.append(bus)
        return bus

    yield open_with
    for bus in opened:
        await bus.close()
