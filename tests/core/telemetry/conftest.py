"""Fixtures of the telemetry tests: captured telemetry, an OpenAI-compatible stub, clients."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from agentrig.core.telemetry import CapturedTelemetry, capture_telemetry, setup_telemetry
from tests.core.telemetry.openai_stub import OpenAIStub


@pytest.fixture(scope="session", autouse=True)
def _telemetry_set_up() -> None:
    # Once per session, as the CLI does once per process; the global provider is set once only.
    setup_telemetry(log_json=True)


@pytest.fixture
def captured() -> Iterator[CapturedTelemetry]:
    with capture_telemetry() as capture:
        yield capture


@pytest.fixture(scope="session")
def openai_stub() -> Iterator[OpenAIStub]:
    stub = OpenAIStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def client(openai_stub: OpenAIStub) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="test-key", base_url=openai_stub.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
async def async_client(openai_stub: OpenAIStub) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="test-key", base_url=openai_stub.base_url, max_retries=0)
