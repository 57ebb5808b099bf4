"""How long a run's state lives in the store: exactly as long as the run can be resumed.

A run keeps its plant document and action ledger, its framework's checkpoints and task
outputs under ``runs/<run_id>/``; on the embedded SQLite store that is about 160 KB a run, and with
``--state redis://`` it is memory. So:

* a run that wrote its result forgets its state at once (:func:`forget_run_state`), keeping only
  its record (about 1 KB), which says it finished -- unless ``--keep-state``;
* a killed or cut-off run keeps everything: ``agentrig run --resume ID`` continues it;
* ``agentrig state prune`` clears runs nobody resumed, by age (:func:`prune_runs`), with a dry run
  that lists them first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agentrig.core.runner.record import RunRecord, load_record, record_key, run_prefix
from agentrig.core.state.base import StateStore
from agentrig.exceptions import CorruptStateError

__all__ = [
    "PrunableRun",
    "delete_run",
    "find_prunable_runs",
    "forget_run_state",
    "prune_runs",
]


async def forget_run_state(store: StateStore, run_id: str) -> int:
    """Delete what a finished run kept in the store but its record; returns how many keys."""
    keep = record_key(run_id)
    removed = 0
    for key in await store.keys(run_prefix(run_id)):
        if key != keep and await store.delete(key):
            removed += 1
    return removed


@dataclass(frozen=True, slots=True)
class PrunableRun:
    """A run whose state ``prune`` would delete.

    Attributes:
        run_id: the run.
        status: ``running`` (killed or cut off, never resumed), ``finished`` (only its record is
            left), or ``unrecorded`` (state with no record: from an older agentrig, or broken).
        updated_at: when its record last changed; None when it has none.
        keys: how many keys it holds.
    """

    run_id: str
    status: str
    updated_at: datetime | None
    keys: int


async def find_prunable_runs(
    store: StateStore, *, older_than: timedelta, now: datetime | None = None
) -> list[PrunableRun]:
    """Runs untouched for longer than ``older_than`` (and every run with no readable record)."""
    now = now or datetime.now(UTC)
    by_run: dict[str, list[str]] = defaultdict(list)
    for key in await store.keys("runs/"):
        run_id = key.removeprefix("runs/").split("/", 1)[0]
        if run_id:
            by_run[run_id].append(key)
    found: list[PrunableRun] = []
    for run_id, keys in sorted(by_run.items()):
        record = await _record(store, run_id)
        if record is None:
            found.append(PrunableRun(run_id, "unrecorded", None, len(keys)))
        elif now - record.updated_at >= older_than:
            found.append(PrunableRun(run_id, record.status, record.updated_at, len(keys)))
    return found


async def delete_run(store: StateStore, run_id: str) -> int:
    """Delete every key of run ``run_id``, its record included; returns how many keys went."""
    removed = 0
    for key in await store.keys(run_prefix(run_id)):
        if await store.delete(key):
            removed += 1
    return removed


async def prune_runs(store: StateStore, runs: list[PrunableRun]) -> int:
    """Delete every key of ``runs``; returns how many keys went."""
    return sum([await delete_run(store, run.run_id) for run in runs])


async def _record(store: StateStore, run_id: str) -> RunRecord | None:
    try:
        loaded = await load_record(store, run_id)
    except CorruptStateError:
        return None  # listed as "unrecorded": prune may delete it, a resume never could
    return loaded[0] if loaded else None
