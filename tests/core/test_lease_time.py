"""The lease time is the holder's: written in the record, read by whoever wants to resume."""

from __future__ import annotations

import asyncio

import pytest

from agentrig.core.runner.record import LEASE_SECONDS, RunLease, RunRecord, load_record
from agentrig.core.state import MemoryStateStore
from agentrig.exceptions import RunInUseError


def _record() -> RunRecord:
    return RunRecord(
        run_id="r1",
        framework="plain",
        scenario="closed-discharge-valve",
        model="reference",
        timeout_s=60.0,
        state_url="memory://",
        out_dir="runs",
    )


async def test_a_short_lease_beats_often_and_goes_stale_soon_after_its_holder_stops() -> None:
    store = MemoryStateStore()
    lease = await RunLease.start(store, _record(), lease_seconds=0.3)
    first = lease.record.owner
    assert first is not None
    assert first.lease_seconds == 0.3
    await asyncio.sleep(0.25)  # a beat every 0.1 s renews it
    loaded = await load_record(store, "r1")
    assert loaded is not None
    assert loaded[0].owner is not None
    assert loaded[0].owner.heartbeat_at > first.heartbeat_at
    # Another host cannot see the pid: a live holder is respected ...
    elsewhere = {"host": "another-host"}
    assert loaded[0].owner.model_copy(update=elsewhere).alive()
    await lease._stop_heartbeat()  # ... until it stops beating (a hung or lost machine)
    await asyncio.sleep(0.35)
    loaded = await load_record(store, "r1")
    assert loaded is not None
    assert loaded[0].owner is not None
    assert not loaded[0].owner.model_copy(update=elsewhere).alive()


async def test_the_default_lease_keeps_a_live_holder_for_thirty_seconds() -> None:
    store = MemoryStateStore()
    lease = await RunLease.start(store, _record())
    assert lease.record.owner is not None
    assert lease.record.owner.lease_seconds == LEASE_SECONDS == 30.0
    with pytest.raises(RunInUseError, match="is being run by pid"):
        await RunLease.resume(store, "r1", state_url="memory://", finished_ok=True)
    await lease.finish("passed")
