"""The MessageBus conformance suite, written once and run against every backend.

Where backends differ (pub/sub keeps nothing and never redelivers), the expectation comes from
``semantics`` and the test shows the difference instead of skipping it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider

from agentrig.core.messaging import Message, MessageBus, Subscription
from agentrig.exceptions import MessageTooLargeError
from tests.core.messaging.support import (
    IDLE_TIMEOUT,
    MAX_DELIVERIES,
    MAX_MESSAGE_BYTES,
    OpenBus,
    OpenBusWith,
    Semantics,
    make_message,
    start_listening,
)


async def test_send_receive_ack_round_trips_the_exact_message(bus: MessageBus) -> None:
    await start_listening(bus, "operator")
    sent = make_message(
        content={
            "alarm": "Überdruck an Pumpe 1 — 压力过高 🚨",
            "readings": [{"pressure_bar": 12.75, "ok": False, "note": None}, [1, 2, [3]]],
            "big": 2**62,
        },
        timestamp=datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC),
        causation_id="previous-message",
        headers={"x-run-attempt": "2"},
    )

    delivery_id = await bus.send(sent)
    delivery = await bus.receive("operator", timeout=2.0)

    assert delivery is not None
    assert delivery.message == sent
    assert delivery.message.model_dump_json() == sent.model_dump_json()
    assert delivery.message.timestamp.microsecond == 123456
    assert (delivery.inbox, delivery.delivery_id, delivery.attempt) == ("operator", delivery_id, 1)
    await bus.ack(delivery)
    assert await bus.receive("operator", timeout=IDLE_TIMEOUT + 0.2) is None


async def test_messages_arrive_in_the_order_sent(bus: MessageBus) -> None:
    await start_listening(bus, "operator")
    sent = [make_message(content={"n": n}) for n in range(25)]
    for message in sent:
        await bus.send(message)

    received = []
    for _ in sent:
        delivery = await bus.receive("operator", timeout=2.0)
        assert delivery is not None
        received.append(delivery.message.id)
        await bus.ack(delivery)

    assert received == [message.id for message in sent]


async def test_receive_returns_none_after_about_the_timeout(bus: MessageBus) -> None:
    await start_listening(bus, "operator")
    started = time.monotonic()
    assert await bus.receive("operator", timeout=0.25) is None
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.0


async def test_inboxes_are_isolated(bus: MessageBus) -> None:
    for agent in ("monitor", "operator", "diagnostician"):
        await start_listening(bus, agent)
    to_monitor = make_message(recipient="monitor")
    to_operator = make_message(recipient="operator")
    await bus.send(to_monitor)
    await bus.send(to_operator)

    operator_delivery = await bus.receive("operator", timeout=2.0)
    monitor_delivery = await bus.receive("monitor", timeout=2.0)

    assert operator_delivery is not None
    assert monitor_delivery is not None
    assert operator_delivery.message.id == to_operator.id
    assert monitor_delivery.message.id == to_monitor.id
    assert await bus.receive("diagnostician", timeout=0.1) is None
    assert await bus.receive("operator", timeout=0.1) is None


async def test_a_message_sent_before_anyone_listens(bus: MessageBus, semantics: Semantics) -> None:
    """Streams and memory keep it for the first receiver; pub/sub loses it (as documented)."""
    early = make_message(content={"sent": "before anyone listened"})
    await bus.send(early)

    delivery = await bus.receive("operator", timeout=0.5)

    if semantics.durable:
        assert delivery is not None
        assert delivery.message == early
    else:
        assert delivery is None, "redis+pubsub delivered a message nobody was subscribed for"
        late = make_message(content={"sent": "while listening"})
        await bus.send(late)  # the first receive subscribed: from now on messages arrive
        delivery = await bus.receive("operator", timeout=2.0)
        assert delivery is not None
        assert delivery.message == late


async def test_an_unacked_delivery_comes_back_after_the_idle_timeout(
    open_bus: OpenBus, semantics: Semantics
) -> None:
    """A consumer that never acks (it died): the message goes to the next consumer, attempt 2."""
    first_consumer = await open_bus()
    second_consumer = await open_bus()
    await start_listening(first_consumer, "operator")
    await start_listening(second_consumer, "operator")
    sent = make_message()
    await first_consumer.send(sent)
    taken = await first_consumer.receive("operator", timeout=2.0)
    assert taken is not None

    if not semantics.redelivers:
        # Pub/sub sent it to every subscriber once; the second saw it too, and nothing comes back.
        seen_by_second = await second_consumer.receive("operator", timeout=0.1)
        assert seen_by_second is not None
        assert seen_by_second.message.id == sent.id
        assert await second_consumer.receive("operator", timeout=IDLE_TIMEOUT * 2) is None
        return

    # Not before the idle timeout: the first consumer may still be working on it.
    assert await second_consumer.receive("operator", timeout=IDLE_TIMEOUT / 3) is None
    again = await second_consumer.receive("operator", timeout=IDLE_TIMEOUT * 5)
    assert again is not None
    assert again.message == sent
    assert again.attempt == 2
    await second_consumer.ack(again)
    assert await first_consumer.receive("operator", timeout=IDLE_TIMEOUT * 2) is None


async def test_nack_redelivers_at_once_then_dead_letters_with_the_reason(
    bus: MessageBus, semantics: Semantics
) -> None:
    await start_listening(bus, "operator")
    sent = make_message()
    await bus.send(sent)

    attempts = []
    while (delivery := await bus.receive("operator", timeout=IDLE_TIMEOUT / 2)) is not None:
        attempts.append(delivery.attempt)
        assert delivery.message == sent
        await bus.nack(delivery, f"valve model unknown (try {delivery.attempt})")

    expected_attempts = list(range(1, MAX_DELIVERIES + 1)) if semantics.redelivers else [1]
    assert attempts == expected_attempts
    [letter] = await bus.dead_letters("operator")
    assert letter.message == sent
    assert letter.inbox == "operator"
    assert letter.attempts == expected_attempts[-1]
    assert f"valve model unknown (try {expected_attempts[-1]})" in letter.reason
    assert Message.model_validate_json(letter.raw) == sent
    assert await bus.dead_letters("monitor") == []


async def test_unacked_deliveries_are_dead_lettered_after_max_deliveries(
    bus: MessageBus, semantics: Semantics
) -> None:
    """A handler that keeps dying: durable buses give up after the limit and keep the message;
    pub/sub delivered it once and has nothing left to give up on (it is simply gone)."""
    await start_listening(bus, "operator")
    sent = make_message()
    await bus.send(sent)

    attempts = []
    while (delivery := await bus.receive("operator", timeout=IDLE_TIMEOUT * 4)) is not None:
        attempts.append(delivery.attempt)  # and never ack

    if not semantics.redelivers:
        assert attempts == [1]
        assert await bus.dead_letters() == []
        return
    assert attempts == list(range(1, MAX_DELIVERIES + 1))
    [letter] = await bus.dead_letters()
    assert letter.message == sent
    assert letter.attempts == MAX_DELIVERIES
    assert letter.reason == f"not acknowledged after {MAX_DELIVERIES} deliveries"


async def test_an_acked_delivery_is_never_delivered_again(
    bus: MessageBus, semantics: Semantics
) -> None:
    await start_listening(bus, "operator")
    await bus.send(make_message())
    delivery = await bus.receive("operator", timeout=2.0)
    assert delivery is not None

    await bus.ack(delivery)
    await bus.ack(delivery)  # a second ack is harmless

    assert await bus.receive("operator", timeout=IDLE_TIMEOUT * 3) is None
    assert await bus.dead_letters() == []


async def test_topics_fan_out_to_every_subscriber(bus: MessageBus) -> None:
    first = await bus.subscribe("alarms")
    second = await bus.subscribe("alarms")
    other_topic = await bus.subscribe("work-orders")
    sent = [make_message(recipient="alarms", content={"n": n}) for n in range(3)]
    for message in sent:
        await bus.publish("alarms", message)

    for subscription in (first, second):
        received = [await subscription.get(timeout=2.0) for _ in sent]
        assert received == sent
        assert await subscription.get(timeout=0.1) is None
    assert await other_topic.get(timeout=0.1) is None

    late = await bus.subscribe("alarms")
    assert await late.get(timeout=0.1) is None, "a subscription sees only what follows it"
    for subscription in (first, second, other_topic, late):
        await subscription.close()


async def test_a_subscription_iterates_until_closed(bus: MessageBus) -> None:
    subscription = await bus.subscribe("alarms")
    assert isinstance(subscription, Subscription)
    sent = [make_message(recipient="alarms", content={"n": n}) for n in range(3)]
    for message in sent:
        await bus.publish("alarms", message)

    received = []
    async for message in subscription:
        received.append(message)
        if len(received) == len(sent):
            await subscription.close()

    assert received == sent
    assert await subscription.get(timeout=0.05) is None


async def test_an_oversized_message_is_refused_at_send_and_nothing_is_sent(
    bus: MessageBus,
) -> None:
    await start_listening(bus, "operator")
    subscription = await bus.subscribe("alarms")
    too_big = make_message(content={"blob": "x" * MAX_MESSAGE_BYTES})
    near_limit = make_message(content={"blob": "é" * (MAX_MESSAGE_BYTES // 2 - 200)})

    with pytest.raises(MessageTooLargeError) as refused:
        await bus.send(too_big)
    with pytest.raises(MessageTooLargeError):
        await bus.publish("alarms", too_big)

    assert refused.value.message_id == too_big.id
    assert refused.value.limit == MAX_MESSAGE_BYTES
    assert refused.value.size > MAX_MESSAGE_BYTES
    assert "state store" in str(refused.value)  # the error says what to do instead
    assert await bus.receive("operator", timeout=0.1) is None
    assert await subscription.get(timeout=0.1) is None
    await bus.send(near_limit)  # two-byte characters count as two bytes, and this still fits
    delivery = await bus.receive("operator", timeout=2.0)
    assert delivery is not None
    assert delivery.message == near_limit
    await subscription.close()


async def test_send_and_publish_carry_the_current_trace_in_headers(bus: MessageBus) -> None:
    await start_listening(bus, "operator")
    subscription = await bus.subscribe("alarms")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("hand off") as span:
        await bus.send(make_message())
        await bus.publish("alarms", make_message(recipient="alarms"))
        await bus.send(
            make_message(headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
        )
    context = span.get_span_context()
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"

    traced = await bus.receive("operator", timeout=2.0)
    published = await subscription.get(timeout=2.0)
    caller_set = await bus.receive("operator", timeout=2.0)

    assert traced is not None
    assert published is not None
    assert caller_set is not None
    assert traced.message.headers["traceparent"] == expected
    assert published.headers["traceparent"] == expected
    assert caller_set.message.headers["traceparent"] == "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    await subscription.close()


async def test_concurrent_consumers_of_one_inbox(open_bus: OpenBus, semantics: Semantics) -> None:
    """Durable buses split an inbox among its consumers, each message to exactly one of them;
    pub/sub copies every message to every consumer."""
    consumers = [await open_bus() for _ in range(3)]
    for consumer in consumers:
        await start_listening(consumer, "operator")
    sent = [make_message(content={"n": n}) for n in range(30)]
    for message in sent:
        await consumers[0].send(message)

    async def drain(consumer: MessageBus) -> list[str]:
        ids = []
        while (delivery := await consumer.receive("operator", timeout=0.2)) is not None:
            ids.append(delivery.message.id)
            await consumer.ack(delivery)
        return ids

    results = await asyncio.gather(*(drain(consumer) for consumer in consumers))
    sent_ids = [message.id for message in sent]
    if semantics.redelivers:
        assert sorted(id_ for ids in results for id_ in ids) == sorted(sent_ids)
    else:
        assert results == [sent_ids] * len(consumers)


async def test_tasks_receiving_from_one_inbox_of_one_bus_share_it(bus: MessageBus) -> None:
    """Several handler tasks of one agent on one bus: each message reaches exactly one task."""
    await start_listening(bus, "operator")
    sent = [make_message(content={"n": n}) for n in range(20)]

    async def handler() -> list[str]:
        ids = []
        while (delivery := await bus.receive("operator", timeout=0.3)) is not None:
            ids.append(delivery.message.id)
            await bus.ack(delivery)
        return ids

    handlers = [asyncio.create_task(handler()) for _ in range(4)]
    await asyncio.sleep(0.05)  # every handler is waiting before the first message is sent
    for message in sent:
        await bus.send(message)
    results = await asyncio.gather(*handlers)

    received = [message_id for ids in results for message_id in ids]
    assert sorted(received) == sorted(message.id for message in sent)


async def test_tasks_reading_one_subscription_share_it(bus: MessageBus) -> None:
    subscription = await bus.subscribe("alarms")
    sent = [make_message(recipient="alarms", content={"n": n}) for n in range(10)]

    async def reader() -> list[str]:
        ids = []
        while (message := await subscription.get(timeout=0.3)) is not None:
            ids.append(message.id)
        return ids

    readers = [asyncio.create_task(reader()) for _ in range(3)]
    await asyncio.sleep(0.05)
    for message in sent:
        await bus.publish("alarms", message)
    results = await asyncio.gather(*readers)

    assert sorted(i for ids in results for i in ids) == sorted(message.id for message in sent)
    await subscription.close()


async def test_a_message_sent_after_declare_inbox_waits_for_the_first_receive(
    bus: MessageBus,
) -> None:
    """Declared before the send, the inbox keeps the message on every backend -- pub/sub too,
    whose receiver used to subscribe only on its first receive, after the handoff was sent."""
    await bus.declare_inbox("operator")
    await bus.declare_inbox("operator")  # idempotent: still one inbox, one copy
    sent = make_message(content={"sent": "after declare, before any receive"})
    await bus.send(sent)

    delivery = await bus.receive("operator", timeout=2.0)

    assert delivery is not None
    assert delivery.message == sent
    await bus.ack(delivery)
    assert await bus.receive("operator", timeout=IDLE_TIMEOUT + 0.2) is None


async def test_release_inbox_deletes_what_it_holds_and_a_new_one_starts_empty(
    bus: MessageBus,
) -> None:
    await bus.declare_inbox("operator")
    await bus.send(make_message(content={"left": "unread when the run ended"}))
    await bus.declare_inbox("monitor")
    kept = make_message(recipient="monitor")
    await bus.send(kept)

    await bus.release_inbox("operator")
    await bus.release_inbox("operator")  # releasing twice (or what never existed) is harmless

    await bus.declare_inbox("operator")
    assert await bus.receive("operator", timeout=IDLE_TIMEOUT + 0.2) is None
    later = make_message(content={"sent": "after the release"})
    await bus.send(later)
    delivery = await bus.receive("operator", timeout=2.0)
    assert delivery is not None
    assert delivery.message == later
    other = await bus.receive("monitor", timeout=2.0)  # another inbox is untouched
    assert other is not None
    assert other.message == kept


async def test_a_dead_letter_payload_over_the_limit_is_cut_with_its_size_and_hash(
    open_bus_with: OpenBusWith,
) -> None:
    bus = await open_bus_with("dead_letter_max_bytes=1024&max_deliveries=1")
    await bus.declare_inbox("operator")
    await bus.send(make_message(content={"blob": "ü" * 8000}))  # ~16 KB, under the send limit
    delivery = await bus.receive("operator", timeout=2.0)
    assert delivery is not None
    whole = delivery.message.model_dump_json().encode()
    await bus.nack(delivery, "cannot handle it")

    [letter] = await bus.dead_letters("operator")

    assert letter.original_bytes == len(whole)
    assert letter.original_sha256 == hashlib.sha256(whole).hexdigest()
    assert letter.message is None  # a cut payload is no message any more
    kept, marker = letter.raw.split("...[truncated by agentrig: ")
    assert whole.startswith(kept.encode())
    assert 1022 <= len(kept.encode()) <= 1024  # "ü" is 2 bytes: the cut never splits one
    assert marker == f"{len(whole)} bytes, sha256 {letter.original_sha256}]"
    assert "cannot handle it" in letter.reason


async def test_a_small_dead_letter_is_kept_whole(open_bus_with: OpenBusWith) -> None:
    bus = await open_bus_with("dead_letter_max_bytes=1024&max_deliveries=1")
    await bus.declare_inbox("operator")
    sent = make_message()
    await bus.send(sent)
    delivery = await bus.receive("operator", timeout=2.0)
    assert delivery is not None
    await bus.nack(delivery, "no")

    [letter] = await bus.dead_letters("operator")

    assert (letter.message, letter.original_bytes, letter.original_sha256) == (sent, None, None)


async def test_the_dead_letters_keep_about_maxlen_of_the_newest(
    open_bus_with: OpenBusWith, backend: str
) -> None:
    bus = await open_bus_with("dead_letter_maxlen=10&max_deliveries=1")
    await bus.declare_inbox("operator")
    for number in range(250):
        await bus.send(make_message(content={"n": number}))
        delivery = await bus.receive("operator", timeout=2.0)
        assert delivery is not None
        await bus.nack(delivery, f"failure {number}")

    letters = await bus.dead_letters(limit=1000)

    # Memory keeps exactly 10; Redis trims whole stream nodes (100 entries) with MAXLEN ~.
    assert len(letters) == 10 if backend == "memory" else 10 <= len(letters) <= 110
    numbers = [letter.message.content["n"] for letter in letters if letter.message is not None]
    assert numbers == list(range(250 - len(letters), 250))  # the newest, oldest first
