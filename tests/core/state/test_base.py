"""StateStoreBase owns the rules: a backend that writes only the hooks still obeys them all."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentrig.core.state import MemoryStateStore, StateStoreBase, Versioned
from agentrig.core.state.base import encode_document, store_location
from agentrig.exceptions import InvalidKeyError, NotSerializableError, StateError


class HooksOnly(StateStoreBase):
    """A backend that implements nothing but the four hooks, recording what reaches them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def _load(self, key: str) -> Versioned | None:
        self.calls.append(("load", key))
        return None

    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        self.calls.append(("save", key, text, repr(expected_version)))
        return 1

    async def _delete(self, key: str) -> bool:
        self.calls.append(("delete", key))
        return False

    async def _keys(self, prefix: str) -> list[str]:
        self.calls.append(("keys", prefix))
        return []


async def test_the_hook_receives_a_valid_key_and_the_encoded_document() -> None:
    store = HooksOnly()
    assert await store.save("runs/ü/plant", {"b": [1, 2.5], "a": None}, expected_version=0) == 1
    assert await store.load("runs/ü/plant") is None
    assert await store.delete("runs/ü/plant") is False
    assert await store.keys() == []
    assert store.calls == [
        ("save", "runs/ü/plant", '{"b":[1,2.5],"a":null}', "0"),
        ("load", "runs/ü/plant"),
        ("delete", "runs/ü/plant"),
        ("keys", ""),
    ]


@pytest.mark.parametrize("key", ["", "../escape", "a//b", "back\\slash", "x" * 513])
async def test_bad_keys_never_reach_a_hook(key: str) -> None:
    store = HooksOnly()
    with pytest.raises(InvalidKeyError):
        await store.save(key, {"n": 1})
    with pytest.raises(InvalidKeyError):
        await store.load(key)
    with pytest.raises(InvalidKeyError):
        await store.delete(key)
    assert store.calls == []


async def test_a_document_json_cannot_hold_never_reaches_the_hook() -> None:
    store = HooksOnly()
    with pytest.raises(NotSerializableError, match=r"\$\.when"):
        await store.save("k", {"when": object()})
    with pytest.raises(NotSerializableError, match="a document is a JSON object"):
        await store.save("k", ["not", "an", "object"])  # type: ignore[arg-type]
    assert store.calls == []


async def test_a_closed_store_refuses_every_call_before_any_hook() -> None:
    store = HooksOnly()
    async with store:
        pass
    for call in (
        store.save("k", {"n": 1}),
        store.load("k"),
        store.delete("k"),
        store.keys(),
    ):
        with pytest.raises(StateError, match="this HooksOnly is closed; open a new store"):
            await call
    assert store.calls == []


@pytest.mark.parametrize("method", ["load", "save", "delete", "keys"])
def test_a_backend_cannot_override_a_public_method(method: str) -> None:
    async def skips_the_rules(self: object, *args: object) -> None:
        return None

    hooks = {name: getattr(HooksOnly, name) for name in ("_load", "_save_encoded")}
    with pytest.raises(TypeError, match=f"implements StateStoreBase hooks but overrides {method},"):
        type("Skipper", (HooksOnly,), {**hooks, method: skips_the_rules})


async def test_a_wrapper_of_a_finished_store_may_add_behaviour_and_keeps_the_rules() -> None:
    class CountingStore(MemoryStateStore):  # the shape of the tests' fault-injecting doubles
        saves = 0

        async def save(self, key: str, state: object, expected_version: int | None = None) -> int:
            self.saves += 1
            return await super().save(key, state, expected_version)  # type: ignore[arg-type]

    store = CountingStore()
    assert await store.save("k", {"n": 1}) == 1
    with pytest.raises(InvalidKeyError):
        await store.save("../k", {"n": 1})
    assert store.saves == 2


def test_a_backend_must_implement_every_hook() -> None:
    class NoDelete(StateStoreBase):
        async def _load(self, key: str) -> Versioned | None:
            return None

        async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
            return 1

        async def _keys(self, prefix: str) -> list[str]:
            return []

    with pytest.raises(TypeError, match="_delete"):
        NoDelete()  # type: ignore[abstract]


def test_store_location_asks_the_backend_and_falls_back_to_the_class_name() -> None:
    class Foreign:  # a StateStore implemented from scratch, without the base class
        pass

    assert store_location(MemoryStateStore(), "k") == "memory://"
    assert store_location(HooksOnly(), "k") == "HooksOnly"
    assert store_location(Foreign(), "k") == "Foreign"  # type: ignore[arg-type]


class _Readings(BaseModel):
    values: dict[int, float]


def test_a_model_is_encoded_without_the_walk_and_its_non_finite_float_still_named() -> None:
    # A model dumped in JSON mode skips the walk for non-JSON values (its keys are strings);
    # the encoder refuses a non-finite float and the walk then names where it is.
    assert encode_document("k", _Readings(values={1: 2.5})) == '{"values":{"1":2.5}}'
    with pytest.raises(NotSerializableError) as caught:
        encode_document("k", _Readings(values={1: 2.5, 2: float("inf")}))
    assert (caught.value.path, caught.value.type_name) == ("$.values.2", "non-finite float (inf)")
