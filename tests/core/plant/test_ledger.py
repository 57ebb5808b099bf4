"""The ledger beside the plant document: a call cut off in any window between its writes acts once.

A tool call writes twice: the plant document (its effect, the ledger's length and its entry as
the tail, one compare-and-set) and then its entry under its own key. A process can die before the
first write, between the two, or after both (before its result reaches the framework); a resumed
run replays the same calls under the same keys and must find each applied call, and apply it
never again, on every backend.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentrig.core.plant import Plant, ToolExecutor, plant_key
from agentrig.core.plant.executor import ToolCallRecord, derive_idempotency_key
from agentrig.core.plant.ledger import ledger_key, ledger_prefix, read_ledger
from agentrig.core.state import StateStore, Versioned, open_state_store
from agentrig.core.state.base import store_location
from agentrig.exceptions import CorruptStateError

from .conftest import new_run_id

SCENARIO = "closed-discharge-valve"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("check_device_status", {"device_id": "valve-12"}),
    ("set_valve", {"device_id": "valve-12", "open_percent": 100}),
    ("restart_device", {"device_id": "pump-07"}),
]


class Killed(BaseException):
    """The process dies here: like SIGKILL, no ``except Exception`` runs and nothing is flushed."""


class DyingStore:
    """A store handle whose process dies at the first write matching ``window``."""

    def __init__(self, store: StateStore, window: str) -> None:
        self.store = store
        self.window = window
        self.died = False

    async def load(self, key: str) -> Versioned | None:
        return await self.store.load(key)

    async def save(self, key: str, state: BaseModel, expected_version: int | None = None) -> int:
        written = state.model_dump(mode="json")
        entry = written.get("tool") == "set_valve"
        tail = written.get("ledger_tail") or {}
        if (
            not self.died
            and self.window == "before the plant write"
            and tail.get("tool") == "set_valve"
        ):
            self.died = True
            raise Killed
        version = await self.store.save(key, state, expected_version)
        if not self.died and self.window == "after the ledger write" and entry:
            self.died = True
            raise Killed
        return version

    async def keys(self, prefix: str = "") -> list[str]:
        return await self.store.keys(prefix)

    async def delete(self, key: str) -> bool:
        return await self.store.delete(key)


def reopen(url: str, store: StateStore) -> StateStore:
    """A second handle on the same data, as the resumed process opens it."""
    return store if url == "memory://" else open_state_store(url)


async def applied(store: StateStore, run_id: str) -> list[str]:
    return [entry.tool for entry in await read_ledger(store, run_id) if entry.outcome == "applied"]


@pytest.mark.parametrize(
    "window", ["before the plant write", "between the writes", "after the ledger write"]
)
async def test_a_call_cut_off_in_any_window_is_applied_once_on_resume(
    backend_url: str, any_store: StateStore, window: str
) -> None:
    run_id = new_run_id()
    await Plant.create(any_store, run_id, SCENARIO)
    dying = DyingStore(any_store, window)
    first = ToolExecutor(dying, run_id)  # type: ignore[arg-type]

    def die_between_the_writes(entry: Any) -> None:
        if window == "between the writes" and entry.tool == "set_valve":
            raise Killed

    first.commit_hooks.append(die_between_the_writes)
    await first.call(*CALLS[0], role="operator")
    with pytest.raises(Killed):
        await first.call(*CALLS[1], role="operator")

    state = await Plant(any_store, run_id).state()
    valve_key = derive_idempotency_key(run_id, "operator", *CALLS[1], 0)
    if window == "before the plant write":
        assert state.ledger_length == 1
        assert state.devices["valve-12"].position == 0
    else:
        assert state.ledger_length == 2
        assert state.devices["valve-12"].position == 100
        assert state.ledger_tail is not None
        assert state.ledger_tail.tool == "set_valve"
        # Between the writes the entry has no key of its own yet; the ledger still holds it.
        has_key = await any_store.load(ledger_key(run_id, valve_key)) is not None
        assert has_key is (window == "after the ledger write")
        assert [entry.tool for entry in await read_ledger(any_store, run_id)] == [
            "check_device_status",
            "set_valve",
        ]

    other = reopen(backend_url, any_store)
    try:
        records: list[ToolCallRecord] = []
        resumed = ToolExecutor(other, run_id, hooks=[records.append])
        for tool, arguments in CALLS:
            assert (await resumed.call(tool, arguments, role="operator")).ok
        replayed = [record.replayed for record in records]
        assert replayed == [True, window != "before the plant write", False]
        assert await applied(other, run_id) == ["set_valve", "restart_device"]
        ledger = await read_ledger(other, run_id)
        assert [entry.seq for entry in ledger] == [1, 2, 3]
        # Every entry but the newest now has its own key; the newest is the plant's tail.
        keys = set(await other.keys(ledger_prefix(run_id)))
        assert {ledger_key(run_id, entry.key) for entry in ledger[:2]} <= keys
        state = await Plant(other, run_id).state()
        assert state.devices["pump-07"].trips == 1  # the warm-up trip only: started once
    finally:
        if other is not any_store:
            await other.close()


def test_a_process_sigkilled_between_the_writes_is_resumed_without_acting_twice(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    run_id = "killed-between-the-writes"
    script = textwrap.dedent(
        f"""
        import asyncio
        from agentrig.core.plant import Plant
        from agentrig.core.runner.crash import KillPoint, KillSwitch
        from agentrig.core.state import open_state_store

        async def main():
            async with open_state_store({url!r}) as store:
                plant = await Plant.create(store, {run_id!r}, {SCENARIO!r})
                switch = KillSwitch(KillPoint.parse("write#2"))
                executor = plant.executor(commit_hooks=[switch.on_commit])
                for tool, arguments in {CALLS!r}:
                    print("calling", tool, flush=True)
                    await executor.call(tool, arguments, role="operator")

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.splitlines() == ["calling check_device_status", "calling set_valve"]

    async def resume() -> None:
        async with open_state_store(url) as store:
            state = await Plant(store, run_id).state()
            assert state.ledger_length == 2
            assert state.devices["valve-12"].position == 100
            assert await store.keys(ledger_prefix(run_id)) == [
                ledger_key(run_id, (await read_ledger(store, run_id))[0].key)
            ]
            records: list[ToolCallRecord] = []
            executor = ToolExecutor(store, run_id, hooks=[records.append])
            for tool, arguments in CALLS:
                await executor.call(tool, arguments, role="operator")
            assert [record.replayed for record in records] == [True, True, False]
            assert await applied(store, run_id) == ["set_valve", "restart_device"]

    asyncio.run(resume())


async def test_a_corrupt_ledger_entry_is_named_and_kept(any_store: StateStore) -> None:
    run_id = new_run_id()
    plant = await Plant.create(any_store, run_id, SCENARIO)
    executor = plant.executor()
    for tool, arguments in CALLS[:2]:
        await executor.call(tool, arguments, role="operator")
    first = (await plant.ledger())[0]
    key = ledger_key(run_id, first.key)
    await any_store.save(key, {"seq": "one"})

    with pytest.raises(CorruptStateError) as caught:
        await plant.ledger()
    assert caught.value.key == key
    assert caught.value.location == store_location(any_store, key)
    assert caught.value.reason == (
        "it is not a ledger entry (seq: Input should be a valid integer, unable to parse string "
        "as an integer); it is left in place: restore it from a backup, or use a new run id"
    )
    # A resumed call under that key meets it too, and applies nothing.
    resumed = ToolExecutor(any_store, run_id)
    with pytest.raises(CorruptStateError, match="it is not a ledger entry"):
        await resumed.call(*CALLS[0], role="operator")
    assert (await any_store.load(key)) == Versioned({"seq": "one"}, 2)
    assert (await plant.state()).ledger_length == 2


async def test_a_missing_ledger_entry_is_a_clear_error(any_store: StateStore) -> None:
    run_id = new_run_id()
    plant = await Plant.create(any_store, run_id, SCENARIO)
    executor = plant.executor()
    for tool, arguments in CALLS:
        await executor.call(tool, arguments, role="operator")
    first = (await plant.ledger())[0]
    await any_store.delete(ledger_key(run_id, first.key))

    with pytest.raises(CorruptStateError) as caught:
        await plant.ledger()
    assert caught.value.key == f"runs/{run_id}/ledger"
    assert caught.value.reason == (
        "the plant document counts 3 tool calls but no ledger entry is left for call 1 (deleted "
        "by hand, or a partial copy of the store); the run cannot be graded or resumed, use a "
        "new run id"
    )
    assert await any_store.load(plant_key(run_id)) is not None
