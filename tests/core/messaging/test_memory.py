"""What only the in-process bus does: isolation from the sender's objects, URL options, closing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentrig.core.messaging import MemoryMessageBus, open_message_bus
from agentrig.exceptions import ConfigurationError
from tests.core.messaging.support import make_message


async def test_the_receiver_gets_a_copy_not_the_senders_object() -> None:
    bus = MemoryMessageBus()
    sent = make_message(content={"readings": [1, 2]})
    await bus.send(sent)
    delivery = await bus.receive("operator", timeout=0)
    assert delivery is not None

    delivery.message.content["readings"].append(3)  # type: ignore[union-attr]

    assert sent.content == {"readings": [1, 2]}


def test_url_options_reach_the_bus() -> None:
    bus = open_message_bus("memory://?idle_timeout_ms=250&max_deliveries=2&max_message_bytes=999")
    assert isinstance(bus, MemoryMessageBus)
    assert (bus.idle_timeout, bus.max_deliveries, bus.max_message_bytes) == (0.25, 2, 999)
    assert isinstance(open_message_bus(), MemoryMessageBus)


@pytest.mark.parametrize(
    "url", ["memory://?group=x&typo=1", "memory://?max_message_bytes=-5", "nats://localhost"]
)
def test_a_bad_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_message_bus(url)


async def test_close_ends_open_subscriptions() -> None:
    bus = MemoryMessageBus()
    subscription = await bus.subscribe("alarms")
    await bus.close()

    await bus.publish("alarms", make_message(recipient="alarms"))

    assert subscription.closed
    assert await subscription.get(timeout=0.05) is None


def test_redis_urls_name_the_missing_extra_when_redis_is_absent() -> None:
    """The memory bus works without the 'redis' extra; the Redis buses say how to install it."""
    script = """
import sys

class HideRedis:
    def find_spec(self, name, path=None, target=None):
        if name == "redis" or name.startswith("redis."):
            raise ImportError("hidden for this test")

sys.meta_path.insert(0, HideRedis())
from agentrig.core.messaging import MemoryMessageBus, open_message_bus
from agentrig.exceptions import MissingExtraError

assert isinstance(open_message_bus("memory://"), MemoryMessageBus)
for url in ("redis://127.0.0.1:6379/0", "redis+pubsub://127.0.0.1:6379/0"):
    try:
        open_message_bus(url)
    except MissingExtraError as error:
        assert error.extra == "redis", error
        assert "pip install 'agentrig[redis]'" in str(error), error
    else:
        raise AssertionError(f"{url} opened without redis")
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
