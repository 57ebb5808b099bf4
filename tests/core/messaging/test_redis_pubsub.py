"""What only the pub/sub bus does: garbage on a channel, nack without redelivery, the warning when
a message is lost, connections. The shared behaviour is in test_conformance.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio
from structlog.testing import capture_logs

from agentrig.core.messaging import open_message_bus
from agentrig.core.messaging.redis_pubsub import RedisPubSubMessageBus
from tests.core.messaging.support import make_message, start_listening


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[RedisPubSubMessageBus]:
    bus = RedisPubSubMessageBus.from_url(redis_url.replace("redis://", "redis+pubsub://", 1))
    yield bus
    await bus.close()


@pytest.fixture
async def raw_redis(redis_server_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.Redis.from_url(redis_server_url)
    yield client
    await client.aclose()


async def test_garbage_on_the_channel_is_dead_lettered_and_the_receiver_goes_on(
    bus: RedisPubSubMessageBus, raw_redis: redis_asyncio.Redis
) -> None:
    await start_listening(bus, "operator")
    await raw_redis.publish(bus.keys.inbox("operator"), b"\x00 not a message")
    valid = make_message()
    await bus.send(valid)

    delivery = await bus.receive("operator", timeout=2.0)

    assert delivery is not None
    assert delivery.message == valid
    [letter] = await bus.dead_letters("operator")
    assert letter.message is None
    assert letter.raw == "\x00 not a message"
    assert "Invalid JSON" in letter.reason


async def test_a_send_nobody_hears_is_logged_as_lost(bus: RedisPubSubMessageBus) -> None:
    lost = make_message()
    with capture_logs() as logs:
        await bus.send(lost)

    [entry] = [log for log in logs if log["log_level"] == "warning"]
    assert entry["message_id"] == lost.id
    assert "lost" in entry["event"]


async def test_close_releases_every_connection(
    redis_url: str, raw_redis: redis_asyncio.Redis
) -> None:
    name = f"agentrig-test-{uuid.uuid4().hex[:8]}"

    async def connections() -> int:
        return sum(1 for client in await raw_redis.client_list() if client["name"] == name)

    bus = open_message_bus(
        f"{redis_url.replace('redis://', 'redis+pubsub://', 1)}&client_name={name}"
    )
    await start_listening(bus, "operator")
    await bus.subscribe("alarms")
    await bus.send(make_message())
    assert await connections() >= 3  # one per subscribed channel, one for publishing
    await bus.close()

    assert await connections() == 0
