"""The StateStore conformance suite, written once and run against all five backends.

Every test takes the parametrised ``backend`` / ``store`` fixture (memory, file, sqlite, redis,
postgres; see conftest.py), so a behaviour holds everywhere or fails by name for one backend.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from agentrig.core.state import MAX_KEY_BYTES, StateStore, Versioned
from agentrig.core.state.base import store_location
from agentrig.exceptions import (
    CorruptStateError,
    InvalidKeyError,
    NotSerializableError,
    StateError,
    VersionConflict,
)
from tests.core.state.conftest import Backend

NESTED = {
    "plant": {"pump-1": {"pressure_bar": 4.25, "rpm": 1450, "running": True, "alarm": None}},
    "readings": [0.1, 1e300, 5e-324, -0.0, 2**63, -(2**70), 3.141592653589793],
    "text": 'Pumpe überhitzt — 温度 🔥 "quoted" \\ back\nslash \u0000 nul',
    "empty": {"list": [], "object": {}, "string": ""},
    "deep": [[[{"a": [1, [2, [3]]]}]]],
}


async def increment(store: StateStore, key: str) -> int:
    """Load, add one, compare-and-set save; retry on conflict. Returns the conflicts seen."""
    conflicts = 0
    while True:
        current = await store.load(key)
        count = current.state["count"] if current else 0
        try:
            await store.save(key, {"count": count + 1}, current.version if current else 0)
        except VersionConflict:
            conflicts += 1
            continue
        return conflicts


# ------------------------------------------------------------------ documents and versions


async def test_round_trip_keeps_nested_json_exactly(store: StateStore) -> None:
    assert await store.load("plant/state") is None
    assert await store.save("plant/state", NESTED) == 1
    loaded = await store.load("plant/state")
    assert loaded == Versioned(NESTED, 1)
    readings = loaded.state["readings"]
    assert [type(value) for value in readings] == [float, float, float, float, int, int, float]
    assert math.copysign(1.0, readings[3]) == -1.0  # -0.0 stays negative zero
    assert readings[2] == 5e-324
    assert loaded.state["text"] == NESTED["text"]


async def test_versions_count_one_two_three(store: StateStore) -> None:
    assert [await store.save("k", {"n": n}) for n in range(3)] == [1, 2, 3]
    assert await store.load("k") == Versioned({"n": 2}, 3)


async def test_loaded_documents_are_copies(store: StateStore) -> None:
    document = {"list": [1]}
    await store.save("k", document)
    document["list"].append(2)
    loaded = await store.load("k")
    assert loaded is not None
    loaded.state["list"].append(3)
    assert await store.load("k") == Versioned({"list": [1]}, 1)


class PumpReading(BaseModel):
    pump: str
    pressure_bar: float
    taken_at: datetime


async def test_pydantic_models_are_saved_as_json(store: StateStore) -> None:
    reading = PumpReading(pump="p-1", pressure_bar=4.5, taken_at=datetime(2025, 1, 2, tzinfo=UTC))
    await store.save("reading", reading)
    loaded = await store.load("reading")
    assert loaded is not None
    assert loaded.state == {"pump": "p-1", "pressure_bar": 4.5, "taken_at": "2025-01-02T00:00:00Z"}
    assert PumpReading.model_validate(loaded.state) == reading


async def test_one_mebibyte_document_round_trips(store: StateStore) -> None:
    big = {"blob": "ä" * (512 * 1024), "numbers": list(range(1000))}  # ä is 2 UTF-8 bytes
    assert await store.save("big", big) == 1
    assert await store.save("big", big) == 2  # the stored 1 MiB is re-checked before replacing
    assert await store.load("big") == Versioned(big, 2)


# ------------------------------------------------------------------ compare-and-set


async def test_stale_expected_version_conflicts_and_changes_nothing(store: StateStore) -> None:
    await store.save("k", {"n": 1})
    await store.save("k", {"n": 2})
    with pytest.raises(VersionConflict) as caught:
        await store.save("k", {"n": "stale"}, expected_version=1)
    assert (caught.value.key, caught.value.expected, caught.value.actual) == ("k", 1, 2)
    assert await store.load("k") == Versioned({"n": 2}, 2)
    assert await store.save("k", {"n": 3}, expected_version=2) == 3


async def test_expected_version_zero_means_must_not_exist(store: StateStore) -> None:
    assert await store.save("k", {"n": 1}, expected_version=0) == 1
    with pytest.raises(VersionConflict) as caught:
        await store.save("k", {"n": "again"}, expected_version=0)
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    assert await store.load("k") == Versioned({"n": 1}, 1)


async def test_expected_version_on_missing_key_conflicts(store: StateStore) -> None:
    with pytest.raises(VersionConflict) as caught:
        await store.save("missing", {"n": 1}, expected_version=4)
    assert (caught.value.expected, caught.value.actual) == (4, 0)
    assert await store.load("missing") is None
    assert await store.keys() == []


async def test_32_concurrent_writers_end_at_exactly_32(backend: Backend) -> None:
    store = backend.store
    conflicts = await asyncio.gather(*(increment(store, "counter") for _ in range(32)))
    assert await store.load("counter") == Versioned({"count": 32}, 32)
    if backend.name != "memory":  # memory runs each call to completion: no interleaving
        assert sum(conflicts) > 0, "no writer ever lost a race: the test proved nothing"


async def test_32_concurrent_creators_only_one_wins(store: StateStore) -> None:
    async def create(writer: int) -> int | None:
        try:
            return await store.save("first", {"writer": writer}, expected_version=0)
        except VersionConflict:
            return None

    results = await asyncio.gather(*(create(writer) for writer in range(32)))
    assert results.count(1) == 1
    assert results.count(None) == 31
    loaded = await store.load("first")
    assert loaded is not None
    assert loaded.version == 1
    assert loaded.state["writer"] == results.index(1)


async def test_concurrent_unconditional_saves_give_distinct_versions(store: StateStore) -> None:
    versions = await asyncio.gather(*(store.save("k", {"writer": n}) for n in range(32)))
    assert sorted(versions) == list(range(1, 33))
    loaded = await store.load("k")
    assert loaded is not None
    assert loaded.version == 32
    assert loaded.state["writer"] == versions.index(32)


# ------------------------------------------------------------------ keys


UNICODE_KEYS = ["ünïcødé/日本語/🚀", "Pump", "pump", "a.b/.hidden", "x" * 40 + "/é" * 100]


@pytest.mark.parametrize("key", UNICODE_KEYS, ids=["unicode", "upper", "lower", "dots", "long"])
async def test_unicode_and_unusual_keys_round_trip(store: StateStore, key: str) -> None:
    await store.save(key, {"key": key})
    assert await store.load(key) == Versioned({"key": key}, 1)
    assert await store.keys() == [key]


async def test_keys_that_differ_only_in_case_stay_apart(store: StateStore) -> None:
    await store.save("Pump", {"n": 1})
    await store.save("pump", {"n": 2})
    await store.save("PUMP", {"n": 3})
    assert [(await store.load(key)) for key in ("Pump", "pump", "PUMP")] == [
        Versioned({"n": 1}, 1),
        Versioned({"n": 2}, 1),
        Versioned({"n": 3}, 1),
    ]


async def test_longest_key_is_accepted(store: StateStore) -> None:
    key = "/".join(["é" * 100] * 2) + "/" + "k" * (MAX_KEY_BYTES - 402)
    assert len(key.encode()) == MAX_KEY_BYTES
    await store.save(key, {"ok": True})
    assert await store.keys() == [key]
    assert await store.load(key) == Versioned({"ok": True}, 1)


async def test_keys_are_sorted_by_code_point(store: StateStore) -> None:
    names = ["b", "a/2", "a/10", "A", "é", "z", "a", "ä", "日", "a/1/x", "🚀"]
    for name in names:
        await store.save(name, {})
    assert await store.keys() == sorted(names)
    assert await store.keys("a/") == ["a/1/x", "a/10", "a/2"]
    assert await store.keys("a/1") == ["a/1/x", "a/10"]
    assert await store.keys("nothing") == []


async def test_prefix_metacharacters_match_literally(store: StateStore) -> None:
    names = ["a%b/1", "a_b/1", "axb/1", "a*b/1", "a[b]/1", "a?c", "abc", "a[", "a]b", "a^b"]
    for name in names:
        await store.save(name, {})
    assert await store.keys("a%") == ["a%b/1"]
    assert await store.keys("a_") == ["a_b/1"]
    assert await store.keys("a*") == ["a*b/1"]
    assert await store.keys("a[") == ["a[", "a[b]/1"]
    assert await store.keys("a[b]") == ["a[b]/1"]
    assert await store.keys("a?") == ["a?c"]
    assert await store.keys("a]") == ["a]b"]
    assert await store.keys("a^") == ["a^b"]
    assert await store.keys("a") == sorted(names)


async def test_delete(store: StateStore) -> None:
    await store.save("runs/1/a", {"n": 1})
    await store.save("runs/1/a", {"n": 2})
    await store.save("runs/1/b", {"n": 1})
    assert await store.delete("runs/1/a") is True
    assert await store.load("runs/1/a") is None
    assert await store.delete("runs/1/a") is False
    assert await store.delete("never") is False
    assert await store.keys() == ["runs/1/b"]
    # A deleted key forgets its version: it must not exist, and numbering starts again.
    assert await store.save("runs/1/a", {"n": 3}, expected_version=0) == 1


INVALID_KEYS = ["", "../x", "a/../../x", "a//b", "/abs", "a/", ".", "a\\b", "a\x00b", "a\nb"]


@pytest.mark.parametrize("key", [*INVALID_KEYS, "x" * (MAX_KEY_BYTES + 1), "é" * 257])
async def test_invalid_keys_are_refused_everywhere(store: StateStore, key: str) -> None:
    attempts = {
        "load": lambda: store.load(key),
        "save": lambda: store.save(key, {"n": 1}),
        "cas-save": lambda: store.save(key, {"n": 1}, expected_version=0),
        "delete": lambda: store.delete(key),
    }
    for name, attempt in attempts.items():
        with pytest.raises(InvalidKeyError) as caught:
            await attempt()
        assert caught.value.reason, name
    assert await store.keys() == []


# ------------------------------------------------------------------ bad values


@pytest.mark.parametrize(
    ("value", "path", "type_name"),
    [
        ({"a": {"b": [1, object()]}}, "$.a.b[1]", "object"),
        ({"a": {1: "int key"}}, "$.a (key 1)", "int dict key"),
        ({"when": datetime(2025, 1, 1)}, "$.when", "datetime"),
        ({"x": [float("nan")]}, "$.x[0]", "non-finite float (nan)"),
        ({"bytes": b"raw"}, "$.bytes", "bytes"),
        ({"s": "bad \udc80 surrogate"}, "$.s", "str with a lone surrogate (not valid unicode)"),
    ],
    ids=["object", "int-key", "datetime", "nan", "bytes", "surrogate"],
)
async def test_non_json_values_are_refused_with_their_path(
    store: StateStore, value: dict[object, object], path: str, type_name: str
) -> None:
    await store.save("existing", {"n": 1})
    for key in ("new", "existing"):
        with pytest.raises(NotSerializableError) as caught:
            await store.save(key, value)  # type: ignore[arg-type]
        assert (caught.value.key, caught.value.path, caught.value.type_name) == (
            key,
            path,
            type_name,
        )
    assert await store.load("new") is None
    assert await store.load("existing") == Versioned({"n": 1}, 1)
    assert await store.keys() == ["existing"]


async def test_a_document_must_be_an_object(store: StateStore) -> None:
    with pytest.raises(NotSerializableError) as caught:
        await store.save("k", [1, 2])  # type: ignore[arg-type]
    assert caught.value.path == "$"
    assert await store.keys() == []


# ------------------------------------------------------------------ corrupt data


@pytest.mark.parametrize(
    "garbage",
    ['{"truncated": ', "not json at all", '["an", "array"]', '{"a": NaN}', ""],
    ids=["truncated", "text", "array", "nan", "empty"],
)
async def test_corrupt_data_is_reported_and_never_overwritten(
    backend: Backend, garbage: str
) -> None:
    store, raw = backend.store, backend.raw
    await store.save("plant/pump-1", {"ok": True})
    await store.save("plant/pump-2", {"ok": True})
    await raw.overwrite("plant/pump-1", garbage)

    with pytest.raises(CorruptStateError) as caught:
        await store.load("plant/pump-1")
    assert caught.value.key == "plant/pump-1"
    assert raw.location_hint("plant/pump-1") in caught.value.location
    assert "plant/pump-1" in str(caught.value)

    for expected_version in (None, 1, 0):
        with pytest.raises(CorruptStateError) as caught:
            await store.save("plant/pump-1", {"repaired": True}, expected_version)
        assert raw.location_hint("plant/pump-1") in caught.value.location
        assert await raw.read("plant/pump-1") == garbage  # the evidence is intact
    # The neighbour is unaffected, the corrupt key is still listed.
    assert await store.load("plant/pump-2") == Versioned({"ok": True}, 1)
    assert await store.keys("plant/") == ["plant/pump-1", "plant/pump-2"]

    # delete is the deliberate way out; afterwards the key starts over.
    assert await store.delete("plant/pump-1") is True
    assert await raw.read("plant/pump-1") is None
    assert await store.save("plant/pump-1", {"repaired": True}, expected_version=0) == 1


async def test_store_location_is_where_a_corrupt_document_is_reported(backend: Backend) -> None:
    # Code above the store (the plant) reports its own corrupt documents at this location.
    store, raw = backend.store, backend.raw
    await store.save("runs/r/plant", {"ok": True})
    await raw.overwrite("runs/r/plant", "[]")
    with pytest.raises(CorruptStateError) as caught:
        await store.load("runs/r/plant")
    assert store_location(store, "runs/r/plant") == caught.value.location
    assert raw.location_hint("runs/r/plant") in store_location(store, "runs/r/plant")


async def test_a_valid_document_written_by_hand_is_accepted(backend: Backend) -> None:
    store, raw = backend.store, backend.raw
    await store.save("k", {"n": 1})
    await raw.overwrite("k", '{"repaired": "by hand", "n": 7}')
    loaded = await store.load("k")
    assert loaded is not None
    assert loaded.state == {"repaired": "by hand", "n": 7}
    assert await store.save("k", {"n": 8}, expected_version=loaded.version) == loaded.version + 1
    assert await store.load("k") == Versioned({"n": 8}, loaded.version + 1)


# ------------------------------------------------------------------ lifecycle


async def test_closed_store_refuses_use(backend: Backend) -> None:
    store = backend.store
    await store.save("k", {"n": 1})
    await store.close()
    with pytest.raises(StateError, match="closed"):
        await store.load("k")
    with pytest.raises(StateError, match="closed"):
        await store.save("k", {"n": 2})
    await store.close()  # closing twice is harmless


async def test_data_outlives_the_store_object(backend: Backend) -> None:
    if backend.name == "memory":
        pytest.skip("memory:// is one process's dict: each store starts empty by design")
    from agentrig.core.state import open_state_store

    await backend.store.save("k", {"n": 1})
    async with open_state_store(backend.url) as reopened:
        assert await reopened.load("k") == Versioned({"n": 1}, 1)
        assert await reopened.save("k", {"n": 2}, expected_version=1) == 2
    assert await backend.store.load("k") == Versioned({"n": 2}, 2)
