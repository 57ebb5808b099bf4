"""A run's record: named runs, resume by id with clear refusals, one resume at a time, retention."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from agentrig.core.runner.record import (
    Owner,
    RunLease,
    RunRecord,
    load_record,
    record_key,
)
from agentrig.core.runner.retention import find_prunable_runs, forget_run_state, prune_runs
from agentrig.core.state import MemoryStateStore
from agentrig.exceptions import (
    ResumeMismatchError,
    RunExistsError,
    RunFinishedError,
    RunInUseError,
    RunNotFoundError,
)

URL = "memory://"


def _record(run_id: str = "r1", **changes: object) -> RunRecord:
    fields: dict[str, object] = {
        "run_id": run_id,
        "framework": "plain",
        "scenario": "closed-discharge-valve",
        "model": "reference",
        "timeout_s": 60.0,
        "state_url": URL,
        "out_dir": "runs",
        **changes,
    }
    return RunRecord.model_validate(fields)


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


async def _killed_run(store: MemoryStateStore, run_id: str = "r1") -> None:
    """A run whose process died: its lease names a pid that no longer exists."""
    lease = await RunLease.start(store, _record(run_id))
    await lease._stop_heartbeat()
    owner = Owner(
        host=lease.record.owner.host if lease.record.owner else "",
        pid=_dead_pid(),
        token="gone",
        heartbeat_at=datetime.now(UTC),
    )
    await store.save(
        record_key(run_id), lease.record.model_copy(update={"owner": owner}).model_dump(mode="json")
    )


async def test_a_new_run_claims_its_id_and_a_second_one_is_refused() -> None:
    store = MemoryStateStore()
    lease = await RunLease.start(store, _record())
    with pytest.raises(RunExistsError, match=r"run id 'r1' is already taken .*--resume r1"):
        await RunLease.start(store, _record())
    await lease.finish("passed")
    record, _ = await load_record(store, "r1") or (None, 0)
    assert record is not None
    assert (record.status, record.result_status, record.owner) == ("finished", "passed", None)
    assert [(a.number, a.outcome) for a in record.attempts] == [(1, "finished")]


async def test_resuming_an_unknown_run_names_the_store_and_changes_nothing() -> None:
    store = MemoryStateStore()
    with pytest.raises(RunNotFoundError, match=r"no run 'nope' in memory://") as caught:
        await RunLease.resume(store, "nope", state_url=URL)
    assert caught.value.state_url == URL
    assert await store.keys("") == []


async def test_resuming_a_finished_run_is_refused() -> None:
    store = MemoryStateStore()
    lease = await RunLease.start(store, _record())
    await lease.finish("failed")
    before = await store.load(record_key("r1"))
    with pytest.raises(RunFinishedError, match=r"has finished \(failed\) after 1 attempt"):
        await RunLease.resume(store, "r1", state_url=URL)
    assert await store.load(record_key("r1")) == before


async def test_a_resume_that_asks_for_another_run_names_each_difference() -> None:
    store = MemoryStateStore()
    await _killed_run(store)
    with pytest.raises(ResumeMismatchError) as caught:
        await RunLease.resume(
            store,
            "r1",
            state_url=URL,
            expect={"framework": "crewai", "scenario": "closed-discharge-valve", "model": None},
        )
    assert caught.value.differences == {"framework": ("plain", "crewai")}
    assert "framework: the run has 'plain', you asked for 'crewai'" in str(caught.value)


async def test_a_killed_run_is_resumed_as_a_new_attempt_and_the_lost_one_is_marked() -> None:
    store = MemoryStateStore()
    await _killed_run(store)
    lease = await RunLease.resume(store, "r1", state_url=URL)
    assert lease.attempt == 2
    assert [a.outcome for a in lease.record.attempts] == ["lost", "running"]
    assert lease.record.owner is not None
    assert lease.record.owner.pid == os.getpid()
    await lease.release()
    record, _ = await load_record(store, "r1") or (None, 0)
    assert record is not None
    assert (record.status, record.owner, record.attempts[-1].outcome) == (
        "running",
        None,
        "interrupted",
    )


async def test_a_run_held_by_a_live_process_is_not_taken() -> None:
    store = MemoryStateStore()
    lease = await RunLease.start(store, _record())  # this very process holds it
    with pytest.raises(RunInUseError, match=rf"being run by pid {os.getpid()}"):
        await RunLease.resume(store, "r1", state_url=URL)
    await lease.release()


async def test_two_resumes_at_once_one_wins_the_other_says_so() -> None:
    store = MemoryStateStore()
    await _killed_run(store)
    outcomes = await asyncio.gather(
        RunLease.resume(store, "r1", state_url=URL),
        RunLease.resume(store, "r1", state_url=URL),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, RunLease)]
    lost = [o for o in outcomes if isinstance(o, RunInUseError)]
    assert (len(won), len(lost)) == (1, 1)
    record, _ = await load_record(store, "r1") or (None, 0)
    assert record is not None
    assert len(record.attempts) == 2  # one new attempt, not two
    await won[0].release()


async def test_a_stale_heartbeat_frees_the_run_even_when_the_pid_lives() -> None:
    owner = Owner(
        host="elsewhere", pid=1, token="t", heartbeat_at=datetime.now(UTC) - timedelta(minutes=5)
    )
    assert not owner.alive()
    fresh = owner.model_copy(update={"heartbeat_at": datetime.now(UTC)})
    assert fresh.alive()  # another host: only the heartbeat can tell


async def test_a_finished_run_forgets_its_state_but_keeps_its_record() -> None:
    store = MemoryStateStore()
    await store.save("runs/r1/plant", {"x": 1})
    await store.save("runs/r1/langgraph/checkpoints/a", {"y": 2})
    await store.save("runs/r10/plant", {"other": True})  # a run whose id shares the prefix
    lease = await RunLease.start(store, _record())
    await lease.finish("passed")
    assert await forget_run_state(store, "r1") == 2
    assert sorted(await store.keys("runs/")) == ["runs/r1/record", "runs/r10/plant"]


async def test_prune_lists_old_runs_first_and_deletes_only_those() -> None:
    store = MemoryStateStore()
    old = await RunLease.start(store, _record("old"))
    await old.release()
    await store.save("runs/old/plant", {"x": 1})
    new = await RunLease.start(store, _record("new"))
    await new.release()
    await store.save("runs/orphan/plant", {"x": 1})
    later = datetime.now(UTC) + timedelta(days=3)
    found = await find_prunable_runs(store, older_than=timedelta(days=2), now=later)
    assert sorted((run.run_id, run.status, run.keys) for run in found) == [
        ("new", "running", 1),
        ("old", "running", 2),
        ("orphan", "unrecorded", 1),
    ]
    found = await find_prunable_runs(store, older_than=timedelta(days=7), now=later)
    assert [(run.run_id, run.status) for run in found] == [("orphan", "unrecorded")]
    assert await prune_runs(store, found) == 1
    assert sorted(await store.keys("runs/")) == [
        "runs/new/record",
        "runs/old/plant",
        "runs/old/record",
    ]


async def test_a_heartbeat_in_flight_never_makes_the_attempts_end_conflict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The heartbeat and the end of the attempt both compare-and-set the record. A store whose
    # save returns only after yielding once more lets the end cancel a beat whose write the
    # store has already taken: the process must still learn the new version.
    from agentrig.core.runner import record as record_module

    class SlowAnswerStore(MemoryStateStore):
        async def save(self, key: str, state: object, expected_version: int | None = None) -> int:
            version = await super().save(key, state, expected_version)  # type: ignore[arg-type]
            await asyncio.sleep(0.001)
            return version

    monkeypatch.setattr(record_module, "HEARTBEAT_SECONDS", 0.0005)
    for attempt in range(20):
        store = SlowAnswerStore()
        lease = await RunLease.start(store, _record(f"r{attempt}"))
        await asyncio.sleep(0.002 * (attempt % 4))
        await lease.finish("passed")
        record, _ = await load_record(store, f"r{attempt}") or (None, 0)
        assert record is not None
        assert (record.status, record.owner) == ("finished", None)
