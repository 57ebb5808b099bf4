"""What only the Redis Streams bus does: crash recovery across processes, garbage in the stream,
the key namespace, the group and connections. The shared behaviour is in test_conformance.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio
from redis.exceptions import ResponseError

from agentrig.core.messaging import Message, open_message_bus
from agentrig.core.messaging.redis_streams import RedisStreamsMessageBus
from agentrig.exceptions import ConfigurationError
from tests.core.messaging.support import BUS_OPTIONS, IDLE_TIMEOUT, make_message

CRASH_CONSUMER = Path(__file__).with_name("crash_consumer.py")
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def streams_url(redis_url: str) -> str:
    return f"{redis_url}&{BUS_OPTIONS}"


@pytest.fixture
async def bus(streams_url: str) -> AsyncIterator[RedisStreamsMessageBus]:
    bus = RedisStreamsMessageBus.from_url(streams_url)
    yield bus
    await bus.close()


@pytest.fixture
async def raw_redis(redis_server_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.Redis.from_url(redis_server_url)
    yield client
    await client.aclose()


async def test_a_consumer_killed_before_ack_loses_nothing(
    streams_url: str, bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis
) -> None:
    """THE crash test: a consumer process receives, is SIGKILLed before acking; another consumer
    gets that message after the idle timeout; every message is processed; after ack, none again."""
    inbox = bus.keys.inbox("operator")
    sent = [make_message(content={"n": n}) for n in range(5)]
    for message in sent:
        await bus.send(message)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CRASH_CONSUMER),
        streams_url,
        "operator",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        held_id, held_delivery_id, held_attempt, dead_consumer = line.split()
        # It really holds the delivery: Redis lists it as pending on the doomed consumer.
        [pending] = await raw_redis.xpending_range(inbox, bus.group, "-", "+", 10)
        assert pending["consumer"] == dead_consumer.encode()
        assert pending["message_id"] == held_delivery_id.encode()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    assert (held_id, held_attempt) == (sent[0].id, "1")

    processed: dict[str, int] = {}
    while (delivery := await bus.receive("operator", timeout=IDLE_TIMEOUT * 4)) is not None:
        assert delivery.message.id not in processed, "a message was processed twice"
        processed[delivery.message.id] = delivery.attempt
        await bus.ack(delivery)

    assert processed == {message.id: (2 if message.id == held_id else 1) for message in sent}
    assert (await raw_redis.xpending(inbox, bus.group))["pending"] == 0
    assert await raw_redis.xlen(inbox) == 0
    async with open_message_bus(streams_url) as latecomer:  # a fresh consumer, after the timeout
        assert await latecomer.receive("operator", timeout=IDLE_TIMEOUT * 3) is None
    assert await bus.dead_letters() == []


@pytest.mark.parametrize(
    ("fields", "reason_part"),
    [
        ({"payload": "hello"}, "no 'message' field"),
        ({"message": "{not json"}, "Invalid JSON"),
        ({"message": json.dumps({"type": "alarm", "sender": "x"})}, "recipient: Field required"),
        ({"message": b"\xff\xfe binary"}, "Invalid JSON"),
        ({"message": json.dumps({"hello": "world"})}, "hello: Extra inputs are not permitted"),
    ],
    ids=["no-message-field", "bad-json", "missing-fields", "binary", "wrong-schema"],
)
async def test_garbage_in_the_inbox_is_dead_lettered_and_the_consumer_goes_on(
    bus: RedisStreamsMessageBus,
    raw_redis: redis_asyncio.Redis,
    fields: dict[str, str | bytes],
    reason_part: str,
) -> None:
    inbox = bus.keys.inbox("operator")
    garbage_id = (await raw_redis.xadd(inbox, fields)).decode()  # someone else wrote this
    valid = make_message()
    await bus.send(valid)

    delivery = await bus.receive("operator", timeout=2.0)

    assert delivery is not None
    assert delivery.message == valid
    await bus.ack(delivery)
    [letter] = await bus.dead_letters("operator")
    assert letter.message is None
    assert reason_part in letter.reason
    assert inbox in letter.reason  # it says where the garbage was found
    assert letter.delivery_id == garbage_id
    assert letter.attempts == 1
    stored = dict(fields)
    if list(stored) == ["message"]:
        value = stored["message"]
        assert letter.raw == (
            value.decode(errors="backslashreplace") if isinstance(value, bytes) else value
        )
    else:
        assert json.loads(letter.raw) == stored
    assert (await raw_redis.xpending(inbox, bus.group))["pending"] == 0
    assert await raw_redis.xlen(inbox) == 0


async def test_garbage_on_a_topic_is_dead_lettered_and_the_subscriber_goes_on(
    bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis
) -> None:
    subscription = await bus.subscribe("alarms")
    await raw_redis.xadd(bus.keys.topic("alarms"), {"message": "[]"})
    valid = make_message(recipient="alarms")
    await bus.publish("alarms", valid)

    assert await subscription.get(timeout=2.0) == valid
    [letter] = await bus.dead_letters("topic:alarms")
    assert letter.raw == "[]"
    assert "Input should be an object" in letter.reason
    await subscription.close()


async def test_every_key_lives_under_the_prefix(
    bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis, redis_prefix: str
) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    topic = f"topic-{uuid.uuid4().hex[:8]}"

    async def keys_named_after(name: str) -> list[str]:
        return sorted([key.decode() async for key in raw_redis.scan_iter(match=f"*{name}*")])

    await bus.send(make_message(recipient=agent))
    delivery = await bus.receive(agent, timeout=2.0)
    assert delivery is not None
    await bus.nack(delivery, "first try failed")
    assert await keys_named_after(agent) == [
        f"{redis_prefix}inbox:{agent}",
        f"{redis_prefix}nacks:{agent}",
    ]
    await bus.publish(topic, make_message(recipient=topic))
    assert await keys_named_after(topic) == [f"{redis_prefix}topic:{topic}"]
    await raw_redis.xadd(bus.keys.inbox(agent), {"junk": "1"})
    again = await bus.receive(agent, timeout=2.0)
    assert again is not None
    await bus.ack(again)
    assert await bus.receive(agent, timeout=0.1) is None  # the junk went to the dead letters
    assert await raw_redis.exists(f"{redis_prefix}dead-letters") == 1
    assert await keys_named_after(agent) == [f"{redis_prefix}inbox:{agent}"]  # nack reason gone


async def test_url_options_reach_the_bus(redis_url: str, raw_redis: redis_asyncio.Redis) -> None:
    url = f"{redis_url}&group=plant-7&consumer=worker-a&idle_timeout_ms=1500&max_deliveries=9&topic_maxlen=50"
    async with RedisStreamsMessageBus.from_url(url) as bus:
        await bus.send(make_message())
        assert await bus.receive("operator", timeout=2.0) is not None
        [group] = await raw_redis.xinfo_groups(bus.keys.inbox("operator"))
        [consumer] = await raw_redis.xinfo_consumers(bus.keys.inbox("operator"), "plant-7")

    assert group["name"].decode() == "plant-7"
    assert consumer["name"].decode() == "worker-a"
    assert (bus.idle_timeout, bus.max_deliveries, bus.topic_maxlen) == (1.5, 9, 50)


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("idle_timeout=500", "unknown bus URL parameter 'idle_timeout'"),
        ("max_deliveries=0", "max_deliveries='0' is invalid: must be at least 1"),
        ("idle_timeout_ms=soon", "idle_timeout_ms='soon' is invalid"),
        ("prefix=", "prefix='' is invalid: must not be empty"),
    ],
)
def test_a_bad_url_is_refused_with_what_to_fix(query: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        open_message_bus(f"redis://127.0.0.1:6379/15?{query}")


async def test_receive_survives_the_inbox_being_deleted(
    bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis
) -> None:
    await bus.send(make_message())
    first = await bus.receive("operator", timeout=2.0)
    assert first is not None
    await bus.ack(first)
    await raw_redis.delete(bus.keys.inbox("operator"))  # an operator cleaned up, group and all

    later = make_message()
    await bus.send(later)
    delivery = await bus.receive("operator", timeout=2.0)

    assert delivery is not None
    assert delivery.message == later


async def test_close_releases_every_connection(
    redis_url: str, raw_redis: redis_asyncio.Redis
) -> None:
    name = f"agentrig-test-{uuid.uuid4().hex[:8]}"

    async def connections() -> int:
        clients = await raw_redis.client_list()
        return sum(1 for client in clients if client["name"] == name)

    bus = open_message_bus(f"{redis_url}&client_name={name}")
    subscription = await bus.subscribe("alarms")
    waiting = asyncio.create_task(subscription.get(timeout=0.5))
    await bus.send(make_message())
    assert await bus.receive("operator", timeout=1.0) is not None
    assert await connections() >= 2
    await waiting
    await bus.close()

    assert await connections() == 0


async def test_a_message_in_the_dead_letters_can_be_read_back_whole(
    bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis
) -> None:
    """Dead letters are plain stream entries: readable with XRANGE, without agentrig."""
    sent = make_message(content={"note": "ünïcödé"})
    await bus.send(sent)
    for attempt in (1, 2, 3):
        delivery = await bus.receive("operator", timeout=2.0)
        assert delivery is not None
        assert delivery.attempt == attempt
        await bus.nack(delivery, "cannot parse valve id")

    [(_, fields)] = await raw_redis.xrange(bus.keys.dead_letters)
    stored = {k.decode(): v.decode() for k, v in fields.items()}
    assert stored["inbox"] == "operator"
    assert stored["reason"] == "nacked on delivery 3: cannot parse valve id"
    assert stored["attempts"] == "3"
    assert Message.model_validate_json(stored["raw"]) == sent


async def test_concurrent_sends_share_a_call_but_keep_their_own_errors(
    bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis
) -> None:
    """Sends issued together go out as one Lua call; one bad inbox fails only its own send."""
    await raw_redis.set(bus.keys.inbox("broken"), "not a stream")  # XADD here: WRONGTYPE
    good = [make_message(recipient=f"agent-{n}") for n in range(20)]

    results = await asyncio.gather(
        *(bus.send(message) for message in good),
        bus.send(make_message(recipient="broken")),
        return_exceptions=True,
    )

    *sent_ids, failure = results
    assert isinstance(failure, ResponseError)
    assert "WRONGTYPE" in str(failure)
    assert all(isinstance(entry_id, str) for entry_id in sent_ids)
    for message, entry_id in zip(good, sent_ids, strict=True):
        delivery = await bus.receive(message.recipient, timeout=1.0)
        assert delivery is not None
        assert (delivery.message, delivery.delivery_id) == (message, entry_id)


async def test_prefetched_entries_are_given_back_on_close(
    streams_url: str, raw_redis: redis_asyncio.Redis
) -> None:
    """A consumer that read ahead and closes leaves nothing stranded until the idle timeout."""
    url = f"{streams_url}&prefetch=10&idle_timeout_ms=30000"  # a takeover would take 30 s
    sent = [make_message(content={"n": n}) for n in range(5)]
    async with open_message_bus(url) as reader:
        for message in sent:
            await reader.send(message)
        first = await reader.receive("operator", timeout=1.0)
        assert first is not None
        await reader.ack(first)
        assert isinstance(reader, RedisStreamsMessageBus)
        summary = await raw_redis.xpending(reader.keys.inbox("operator"), reader.group)
        assert summary["pending"] == 4  # read ahead, held by this consumer

    async with open_message_bus(url) as successor:
        received = []
        while (delivery := await successor.receive("operator", timeout=0.5)) is not None:
            received.append((delivery.message, delivery.attempt))
            await successor.ack(delivery)

    assert received == [(message, 1) for message in sent[1:]]


async def test_entries_held_too_long_are_given_back_not_handed_out(
    streams_url: str, raw_redis: redis_asyncio.Redis
) -> None:
    """A read-ahead entry older than half the idle timeout would leave its handler too little
    time: it is given back, then delivered again at attempt 1, with its order kept."""
    async with RedisStreamsMessageBus.from_url(f"{streams_url}&prefetch=10") as bus:
        sent = [make_message(content={"n": n}) for n in range(3)]
        for message in sent:
            await bus.send(message)
        first = await bus.receive("operator", timeout=1.0)
        assert first is not None
        await bus.ack(first)
        await asyncio.sleep(IDLE_TIMEOUT / 2 + 0.05)

        rest = [await bus.receive("operator", timeout=1.0) for _ in sent[1:]]

        assert [(d.message, d.attempt) for d in rest if d is not None] == [
            (message, 1) for message in sent[1:]
        ]
        for delivery in rest:
            assert delivery is not None
            await bus.ack(delivery)
        assert (await raw_redis.xpending(bus.keys.inbox("operator"), bus.group))["pending"] == 0


async def test_a_read_ahead_entry_taken_over_by_another_consumer_is_left_to_it(
    streams_url: str, raw_redis: redis_asyncio.Redis
) -> None:
    """A slow prefetching consumer must not give back (and so duplicate) what another consumer
    took over in the meantime; what it still holds alone it gives back, at attempt 1."""
    async with (
        RedisStreamsMessageBus.from_url(f"{streams_url}&prefetch=10") as slow,
        RedisStreamsMessageBus.from_url(streams_url) as other,
    ):
        sent = [make_message(content={"n": n}) for n in range(3)]
        for message in sent:
            await slow.send(message)
        first = await slow.receive("operator", timeout=1.0)  # reads all three ahead
        assert first is not None
        await slow.ack(first)
        await asyncio.sleep(IDLE_TIMEOUT * 1.2)  # the other two are now idle past the timeout

        taken = await other.receive("operator", timeout=1.0)
        assert taken is not None
        assert (taken.message, taken.attempt) == (sent[1], 2)
        given_back = await slow.receive("operator", timeout=1.0)
        assert given_back is not None
        assert (given_back.message, given_back.attempt) == (sent[2], 1)
        pending_entries = await raw_redis.xpending_range(
            slow.keys.inbox("operator"), slow.group, "-", "+", 10
        )
        [pending] = [p for p in pending_entries if p["message_id"].decode() == taken.delivery_id]
        assert pending["consumer"].decode() == other.consumer  # still the other's, untouched
        await other.ack(taken)
        await slow.ack(given_back)
        assert await slow.receive("operator", timeout=0.2) is None
        assert await other.receive("operator", timeout=0.2) is None


async def test_release_inbox_leaves_no_key_behind(
    bus: RedisStreamsMessageBus, raw_redis: redis_asyncio.Redis, redis_prefix: str
) -> None:
    """A finished run's inboxes: the stream, its consumer group and the nack reasons all go."""
    await bus.declare_inbox("run-7:operator")
    await bus.send(make_message(recipient="run-7:operator"))
    delivery = await bus.receive("run-7:operator", timeout=2.0)
    assert delivery is not None
    await bus.nack(delivery, "not yet")  # leaves a nack reason and a pending entry
    assert sorted([key async for key in raw_redis.scan_iter(match=f"{redis_prefix}*")]) == [
        f"{redis_prefix}inbox:run-7:operator".encode(),
        f"{redis_prefix}nacks:run-7:operator".encode(),
    ]

    await bus.release_inbox("run-7:operator")

    assert [key async for key in raw_redis.scan_iter(match=f"{redis_prefix}*")] == []


async def test_oversized_garbage_is_dead_lettered_cut_to_the_limit(
    streams_url: str, raw_redis: redis_asyncio.Redis
) -> None:
    """Someone XADDs 2 MB of junk to an inbox (the send limit never saw it): the dead letter
    keeps 4 KiB of it, its size and hash -- not the 2 MB."""
    junk = b"x" * 2_000_000
    async with RedisStreamsMessageBus.from_url(f"{streams_url}&dead_letter_max_bytes=4096") as bus:
        await raw_redis.xadd(bus.keys.inbox("operator"), {"message": junk})
        assert await bus.receive("operator", timeout=0.5) is None

        [letter] = await bus.dead_letters("operator")
        stored_bytes = await raw_redis.memory_usage(bus.keys.dead_letters)

    assert letter.original_bytes == len(junk)
    assert letter.original_sha256 == hashlib.sha256(junk).hexdigest()
    assert letter.raw.startswith("x" * 4096 + "...[truncated by agentrig: 2000000 bytes")
    assert len(letter.raw) < 4096 + 200
    assert stored_bytes is not None
    assert stored_bytes < 16_384
