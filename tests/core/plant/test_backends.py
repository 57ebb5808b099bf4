"""The plant runs on every StateStore backend: a full run, a resume, concurrent writers."""

from __future__ import annotations

import asyncio

from agentrig.core.expert import oracle_policy
from agentrig.core.plant import Plant, ToolExecutor, plant_key
from agentrig.core.state import MemoryStateStore, StateStore, open_state_store

from .conftest import new_run_id, scripted_run


def reopen(url: str, store: StateStore) -> StateStore:
    """A second handle on the same data, as another process would open it."""
    return store if isinstance(store, MemoryStateStore) else open_state_store(url)


async def test_an_oracle_run_passes_and_is_stored(backend_url: str, any_store: StateStore) -> None:
    outcome, grade, plant = await scripted_run(any_store, "closed-discharge-valve", oracle_policy())
    assert grade.passed, [c for c in grade.checks if not c.passed]
    calls = sum(outcome.tool_calls.values())
    # The plant document and one key per tool call: the ledger is not in the document.
    keys = await any_store.keys(f"runs/{plant.run_id}/")
    assert keys == [*sorted(key for key in keys if "/ledger/" in key), plant_key(plant.run_id)]
    assert len(keys) == calls + 1
    other = reopen(backend_url, any_store)
    try:
        reopened = Plant(other, plant.run_id)
        state = await reopened.state()
        assert [entry.seq for entry in await reopened.ledger()] == list(range(1, calls + 1))
        assert state.status_of("pump-07") == "running"
    finally:
        if other is not any_store:
            await other.close()


async def test_a_resumed_run_on_another_handle_applies_nothing_twice(
    backend_url: str, any_store: StateStore
) -> None:
    run_id = new_run_id()
    plant = await Plant.create(any_store, run_id, "closed-discharge-valve")
    calls = [
        ("set_valve", {"device_id": "valve-12", "open_percent": 100}),
        ("restart_device", {"device_id": "pump-07"}),
        ("create_work_order", {"device_id": "valve-12", "description": "check gasket"}),
    ]
    first = plant.executor()
    for tool, arguments in calls[:2]:
        assert (await first.call(tool, arguments, role="operator")).ok
    other = reopen(backend_url, any_store)
    try:
        resumed_plant = await Plant.create(other, run_id, "closed-discharge-valve")  # resumes
        resumed = ToolExecutor(other, run_id)
        results = [
            await resumed.call(tool, arguments, role="operator") for tool, arguments in calls
        ]
        assert all(result.ok for result in results)
        state = await resumed_plant.state()
        ledger = await resumed_plant.ledger()
        assert [entry.tool for entry in ledger] == [tool for tool, _ in calls]
        assert state.devices["pump-07"].trips == 1  # the warm-up trip only; no second start
        assert len(state.work_orders) == 1
    finally:
        if other is not any_store:
            await other.close()


async def test_concurrent_writers_lose_no_update(backend_url: str, any_store: StateStore) -> None:
    run_id = new_run_id()
    plant = await Plant.create(any_store, run_id, "stuck-level-sensor")
    tick = (await plant.state()).tick
    other = reopen(backend_url, any_store)
    try:
        writers = {"a": ToolExecutor(any_store, run_id), "b": ToolExecutor(other, run_id)}
        results = await asyncio.gather(
            *(
                executor.call(
                    "create_work_order",
                    {"device_id": "pump-04", "description": f"{name}-{i}"},
                    role="operator",
                )
                for i in range(6)
                for name, executor in writers.items()
            )
        )
        assert all(result.ok for result in results)
        state = await plant.state()
        assert sorted(order.description for order in state.work_orders) == sorted(
            f"{name}-{i}" for i in range(6) for name in writers
        )
        assert state.tick == tick + 12
        assert [entry.seq for entry in await plant.ledger()] == list(range(1, 13))
    finally:
        if other is not any_store:
            await other.close()
