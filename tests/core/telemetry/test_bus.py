"""Trace context crossing the message bus: the receiver continues the sender's trace."""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from opentelemetry.trace import SpanKind

from agentrig.core.messaging import Message, open_message_bus
from agentrig.core.telemetry import CapturedTelemetry, Telemetry


@pytest.fixture(params=["memory", "redis"])
def bus_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


async def test_the_receiver_continues_the_senders_trace(
    bus_url: str, captured: CapturedTelemetry
) -> None:
    async with open_message_bus(bus_url) as bus:
        sender = Telemetry.for_run("run-bus", "langchain", metrics=captured.metrics)
        with sender, sender.workflow("w"), sender.agent("monitor") as monitor_span:
            await bus.send(
                Message(
                    type="handoff",
                    sender="monitor",
                    recipient="diagnostician",
                    content={"alarm": "PT-101 high"},
                    correlation_id="run-bus",
                )
            )

        async def receive() -> None:
            delivery = await bus.receive("diagnostician", timeout=5.0)
            assert delivery is not None
            with (
                sender.consume(delivery.message, messaging_system="agentrig"),
                sender.agent("diagnostician"),
            ):
                pass
            await bus.ack(delivery)

        # A fresh, empty context: nothing but the message headers links the two sides.
        await asyncio.create_task(receive(), context=contextvars.Context())

    sent_from = monitor_span.get_span_context()
    (process,) = captured.by_name("process diagnostician")
    assert process.kind is SpanKind.CONSUMER
    assert process.context.trace_id == sent_from.trace_id
    assert process.parent.span_id == sent_from.span_id
    assert process.attributes["messaging.operation.type"] == "process"
    assert process.attributes["messaging.destination.name"] == "diagnostician"
    assert process.attributes["messaging.message.conversation_id"] == "run-bus"
    assert process.attributes["agentrig.message.type"] == "handoff"
    (diagnostician,) = captured.by_name("invoke_agent diagnostician")
    assert diagnostician.parent.span_id == process.context.span_id
    assert diagnostician.context.trace_id == sent_from.trace_id
