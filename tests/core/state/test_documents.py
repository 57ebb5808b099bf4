"""VersionedDocument: the compare-and-set load/save that resuming adapters keep their state in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter

from agentrig.core.state import StateStore, open_state_store
from agentrig.core.state.documents import VersionedDocument
from agentrig.exceptions import AdapterError, VersionConflict

KEY = "runs/r1/example/notes"


class Notes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    text: str
    turns: int = 0


@pytest.fixture
async def store() -> AsyncIterator[StateStore]:
    store = open_state_store("memory://")
    yield store
    await store.close()


def notes(store: StateStore) -> VersionedDocument[Notes]:
    return VersionedDocument(store, KEY, Notes, "example notes")


async def test_an_absent_document_loads_as_none_at_version_zero(store: StateStore) -> None:
    document = notes(store)
    document.version = 7  # as if an earlier load had seen a key deleted since
    assert await document.load() is None
    assert document.version == 0


async def test_a_saved_document_loads_back_with_its_version(store: StateStore) -> None:
    writer = notes(store)
    assert await writer.save(Notes(text="first")) == 1
    assert await writer.save(Notes(text="second", turns=2)) == 2
    assert writer.version == 2

    reader = notes(store)
    assert await reader.load() == Notes(text="second", turns=2)
    assert reader.version == 2
    assert await reader.save(Notes(text="third", turns=3)) == 3


async def test_a_stale_second_writer_gets_a_conflict_and_changes_nothing(
    store: StateStore,
) -> None:
    first, second = notes(store), notes(store)
    await first.save(Notes(text="start"))
    assert await second.load() == Notes(text="start")
    await first.save(Notes(text="first's turn", turns=1))

    with pytest.raises(VersionConflict) as conflict:
        await second.save(Notes(text="second's turn", turns=1))
    assert (conflict.value.key, conflict.value.expected, conflict.value.actual) == (KEY, 1, 2)
    assert second.version == 1
    stored = await store.load(KEY)
    assert stored is not None
    assert (stored.state["text"], stored.version) == ("first's turn", 2)


async def test_a_document_that_does_not_validate_is_refused_with_its_key_and_left_in_place(
    store: StateStore,
) -> None:
    await store.save(KEY, {"format": 1, "text": ["not", "a", "string"], "extra": 1})
    document = notes(store)
    with pytest.raises(AdapterError) as refused:
        await document.load()
    message = str(refused.value)
    assert message.startswith(f"the example notes under {KEY!r} (version 1) cannot be resumed: ")
    assert "2 problem(s), first: Input should be a valid string at text." in message
    assert message.endswith(
        "It is left in place; delete the key to start the run over, or use a new run id"
    )
    # The refused load did not adopt the document's version, so a save cannot overwrite it.
    assert document.version == 0
    with pytest.raises(VersionConflict):
        await document.save(Notes(text="fresh"))
    stored = await store.load(KEY)
    assert stored is not None
    assert stored.state == {"format": 1, "text": ["not", "a", "string"], "extra": 1}


async def test_a_failed_check_is_refused_like_a_failed_validation(store: StateStore) -> None:
    await store.save(KEY, {"format": 1, "text": "seven"})
    document = VersionedDocument(
        store,
        KEY,
        Notes,
        "example notes",
        start_over="start the role over",
        check=lambda loaded: TypeAdapter(int).validate_python(loaded.text),
    )
    with pytest.raises(
        AdapterError, match=r"1 problem\(s\), first: Input should be a valid int"
    ) as refused:
        await document.load()
    assert "delete the key to start the role over" in str(refused.value)
    assert document.version == 0
    await store.save(KEY, {"format": 1, "text": "7"})
    assert await document.load() == Notes(text="7")
    assert document.version == 2
