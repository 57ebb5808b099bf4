"""A consumer process for the crash test: receive one message, report it, never ack, wait to die.

Usage: python crash_consumer.py BUS_URL AGENT_ID

Prints one line, ``<message id> <delivery id> <attempt> <consumer name>``, once it holds a
delivery; the test then kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys

from agentrig.core.messaging import open_message_bus
from agentrig.core.messaging.redis_streams import RedisStreamsMessageBus


async def main(url: str, agent_id: str) -> None:
    bus = open_message_bus(url)
    assert isinstance(bus, RedisStreamsMessageBus)
    delivery = await bus.receive(agent_id, timeout=30.0)
    if delivery is None:
        sys.exit("no message arrived within 30 s")
    line = f"{delivery.message.id} {delivery.delivery_id} {delivery.attempt} {bus.consumer}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    await asyncio.sleep(3600)  # "processing" -- the test kills us before we could ack


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
