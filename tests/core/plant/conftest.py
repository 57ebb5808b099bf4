"""Fixtures for the plant tests: a state store of each backend, and run helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from agentrig.core.expert import PolicyFunction, ScriptedOutcome, run_scripted
from agentrig.core.plant import Grade, Plant
from agentrig.core.state import MemoryStateStore, StateStore, Versioned, open_state_store


@pytest.fixture
async def any_store(backend_url: str) -> AsyncIterator[StateStore]:
    store = open_state_store(backend_url)
    yield store
    await store.close()


@pytest.fixture
def store() -> MemoryStateStore:
    return MemoryStateStore()


def new_run_id() -> str:
    return uuid.uuid4().hex


async def scripted_run(
    store: StateStore, scenario: str, policy: PolicyFunction, *, seed: int | None = None
) -> tuple[ScriptedOutcome, Grade, Plant]:
    """Create a plant for ``scenario``, run ``policy`` through the three roles, grade it."""
    plant = await Plant.create(store, new_run_id(), scenario, seed=seed)
    executor = plant.executor()
    outcome = await run_scripted(policy, executor, await plant.alarm_text())
    grade = await plant.grade(outcome.final_report)
    return outcome, grade, plant


class YieldingStore(MemoryStateStore):
    """A memory store that yields to the event loop inside load and save.

    The plain memory store completes each call without suspending, so concurrent tasks never
    interleave between a load and its save; this one makes them, so compare-and-set races happen
    deterministically in-process.
    """

    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    async def load(self, key: str) -> Versioned | None:
        await asyncio.sleep(0)
        return await super().load(key)

    async def save(
        self, key: str, state: Mapping[str, Any] | Any, expected_version: int | None = None
    ) -> int:
        await asyncio.sleep(0)
        self.saves += 1
        return await super().save(key, state, expected_version)
