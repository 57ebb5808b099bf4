"""The action ledger: one key per tool call, beside the plant document, never inside it.

Every tool call of a run leaves one :class:`~agentrig.core.plant.state.LedgerEntry`, stored under
:func:`ledger_key` (``runs/<run>/ledger/<hash of its idempotency key>``), so that a call costs
the same whether it is the first of the run or the two-hundredth: the executor reads and writes
one fixed-size plant document and one entry, never the run's history.

Acting once is kept by the order of the writes (``docs/state.md`` argues it in full):

1. the call's effect, the ledger's length and the call's own entry (the *tail*) are written to
   the plant document in one compare-and-set write -- the commit point;
2. then the entry is written under its own key.

The plant document therefore always holds the newest entry, and every older one has its own key:
the next call writes the tail it finds under its key *before* its compare-and-set replaces it.
A kill between the two writes loses nothing (the tail is in the plant document); a resumed call
finds its key either as the tail or under its own key and is answered from there, not applied
again.
"""

from __future__ import annotations

import hashlib

from pydantic import ValidationError

from agentrig.core.plant.state import LedgerEntry, PlantState, plant_key, plant_state_from_document
from agentrig.core.state.base import StateStore, store_location
from agentrig.exceptions import CorruptStateError, PlantError

__all__ = ["ledger_key", "ledger_prefix", "load_entry", "read_ledger", "write_entry"]


def ledger_prefix(run_id: str) -> str:
    """The key prefix under which a run's ledger entries live."""
    return f"runs/{run_id}/ledger/"


def ledger_key(run_id: str, idempotency_key: str) -> str:
    """The StateStore key of the entry of the call with ``idempotency_key``.

    Idempotency keys come from frameworks (tool-call ids) and may hold any text, so the key holds
    their hash: fixed length, valid in every store.
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return ledger_prefix(run_id) + digest


async def load_entry(store: StateStore, run_id: str, idempotency_key: str) -> LedgerEntry | None:
    """The entry of the call with ``idempotency_key``, if it has its own key yet.

    Raises:
        CorruptStateError: the key holds something that is not this call's ledger entry; the
            data is left in place.
    """
    key = ledger_key(run_id, idempotency_key)
    loaded = await store.load(key)
    if loaded is None:
        return None
    entry = _entry_from_document(store, key, loaded.state)
    if entry.key != idempotency_key:
        raise CorruptStateError(
            key,
            store_location(store, key),
            f"it holds the ledger entry of call {entry.key!r}, not of {idempotency_key!r}; "
            "delete the key or use a new run id",
        )
    return entry


async def write_entry(store: StateStore, run_id: str, entry: LedgerEntry) -> None:
    """Write ``entry`` under its own key (again, if it is there: its content never changes)."""
    await store.save(ledger_key(run_id, entry.key), entry)


async def read_ledger(store: StateStore, run_id: str) -> list[LedgerEntry]:
    """Every ledger entry of the run, in call order (seq 1, 2, ...).

    The plant document is read first: the entries it counts are the ledger (an entry written by a
    call still in flight, past that count, is left out), its tail may not have its own key yet.

    Raises:
        PlantError: the run has no plant.
        CorruptStateError: an entry key holds something that is not a ledger entry, or entries the
            plant document counts are missing; nothing is changed.
    """
    state = await _plant_state(store, run_id)
    by_seq: dict[int, LedgerEntry] = {}
    for key in sorted(await store.keys(ledger_prefix(run_id))):
        loaded = await store.load(key)
        if loaded is None:
            continue  # deleted since it was listed (the run is being pruned)
        entry = _entry_from_document(store, key, loaded.state)
        if entry.seq <= state.ledger_length:
            by_seq[entry.seq] = entry
    if state.ledger_tail is not None:
        by_seq[state.ledger_tail.seq] = state.ledger_tail
    missing = [seq for seq in range(1, state.ledger_length + 1) if seq not in by_seq]
    if missing:
        key = ledger_prefix(run_id).rstrip("/")  # the folder of the entries, as a key
        shown = ", ".join(str(seq) for seq in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise CorruptStateError(
            key,
            store_location(store, key),
            f"the plant document counts {state.ledger_length} tool calls but no ledger entry is "
            f"left for call{'s' if len(missing) > 1 else ''} {shown} (deleted by hand, or a "
            "partial copy of the store); "
            "the run cannot be graded or resumed, use a new run id",
        )
    return [by_seq[seq] for seq in range(1, state.ledger_length + 1)]


async def _plant_state(store: StateStore, run_id: str) -> PlantState:
    key = plant_key(run_id)
    loaded = await store.load(key)
    if loaded is None:
        raise PlantError(f"run {run_id!r} has no plant; create it with Plant.create")
    return plant_state_from_document(store, key, loaded.state)


def _entry_from_document(store: StateStore, key: str, document: object) -> LedgerEntry:
    try:
        return LedgerEntry.model_validate(document)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "the document"
        raise CorruptStateError(
            key,
            store_location(store, key),
            f"it is not a ledger entry ({field}: {first['msg']}); it is left in place: "
            "restore it from a backup, or use a new run id",
        ) from error
