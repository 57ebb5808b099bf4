"""A run's key holding something other than a plant document is corrupt state, on every backend.

Before, ``{"hello": 1}`` under a run's key made ``Plant.create`` say the run "already has a plant
for scenario None with seed None", and ``Plant.state`` or a tool call raised pydantic's
ValidationError. Now each raises CorruptStateError naming the key and where it lies, exactly
as the stores report corrupt JSON, and the document is left in place.
"""

from __future__ import annotations

import pytest

from agentrig.core.plant import Plant, plant_key
from agentrig.core.state import StateStore, Versioned
from agentrig.core.state.base import store_location
from agentrig.exceptions import CorruptStateError, PlantError

from .conftest import new_run_id

SCENARIO = "closed-discharge-valve"


def assert_names_the_key(error: CorruptStateError, store: StateStore, key: str) -> None:
    assert error.key == key
    assert error.location == store_location(store, key)
    assert error.reason.startswith("it is not a plant document (")
    assert error.reason.endswith("delete the key to let the run start afresh, or use a new run id")
    assert f"corrupt state for key {key!r} at {error.location}: " in str(error)
    assert "already has a plant" not in str(error)


async def test_creating_over_a_foreign_document_names_the_key(any_store: StateStore) -> None:
    run_id = new_run_id()
    key = plant_key(run_id)
    await any_store.save(key, {"hello": 1})

    with pytest.raises(CorruptStateError) as caught:
        await Plant.create(any_store, run_id, SCENARIO)

    assert_names_the_key(caught.value, any_store, key)
    assert "run_id: Field required and " in caught.value.reason
    assert await any_store.load(key) == Versioned({"hello": 1}, 1)  # the evidence stays


async def test_reading_or_acting_on_a_replaced_plant_names_the_key(any_store: StateStore) -> None:
    run_id = new_run_id()
    key = plant_key(run_id)
    plant = await Plant.create(any_store, run_id, SCENARIO)
    document = await any_store.load(key)
    assert document is not None
    # Looks like a plant, but its device states are not.
    await any_store.save(key, {**document.state, "devices": {"pump-07": {"running": "fast"}}})

    with pytest.raises(CorruptStateError) as caught:
        await plant.state()
    assert_names_the_key(caught.value, any_store, key)
    assert "(devices.pump-07.running: Input should be a valid boolean" in caught.value.reason

    with pytest.raises(CorruptStateError) as caught:
        await plant.executor().call("check_device_status", {"device_id": "pump-07"}, role="monitor")
    assert_names_the_key(caught.value, any_store, key)
    assert (await any_store.load(key)) == Versioned(
        {**document.state, "devices": {"pump-07": {"running": "fast"}}}, 2
    )


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (
            1,
            "written by an older agentrig (its action ledger inside the document); finish that "
            "run with that version, or delete the key to let the run start afresh",
        ),
        (3, "written by a newer agentrig; upgrade agentrig to read it"),
    ],
)
async def test_a_plant_of_another_schema_says_which_and_stays(
    any_store: StateStore, version: int, says: str
) -> None:
    run_id = new_run_id()
    key = plant_key(run_id)
    plant = await Plant.create(any_store, run_id, SCENARIO)
    document = await any_store.load(key)
    assert document is not None
    other = {**document.state, "schema_version": version, "ledger": []}
    await any_store.save(key, other)

    for attempt in (plant.state(), plant.executor().call("list_devices", {}, role="monitor")):
        with pytest.raises(CorruptStateError) as caught:
            await attempt
        assert caught.value.key == key
        assert caught.value.reason == f"it is a plant document of schema {version}, {says}"
    assert await any_store.load(key) == Versioned(other, 2)


async def test_a_plant_of_another_scenario_is_still_a_plant_error(any_store: StateStore) -> None:
    run_id = new_run_id()
    await Plant.create(any_store, run_id, SCENARIO, seed=7)

    with pytest.raises(PlantError) as caught:
        await Plant.create(any_store, run_id, SCENARIO, seed=8)

    assert str(caught.value) == (
        f"run {run_id!r} already has a plant for scenario {SCENARIO!r} with seed 7; "
        f"use a new run id for {SCENARIO!r} with seed 8"
    )
