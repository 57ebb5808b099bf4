"""What only the file backend has: key-to-path mapping, on-disk layout, atomic writes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from agentrig.core.state import MAX_KEY_BYTES, Versioned
from agentrig.core.state.file import FileStateStore, key_to_path_parts, path_parts_to_key
from agentrig.exceptions import ConfigurationError, CorruptStateError, InvalidKeyError

SAFE_NAME = re.compile(r"(?:[a-z0-9_-]|%[0-9A-F]{2})+(?:~|\.json)?")

TRICKY_KEYS = [
    "plain",
    "runs/42/plant/pump-1",
    "Pump",
    "pump",
    ".hidden",
    "..x/...",
    "con/nul/aux",
    "a~b/c.json",
    "%2E%2E",
    "🚀/日本語/ünï",
    "é" * (MAX_KEY_BYTES // 2),  # one segment, 1536 escaped characters
    "/".join(["x" * 120] * 4),
    ("a" * 199 + "é") * 2,  # an escape that straddles a 200-character cut
]


@pytest.fixture
async def store(tmp_path: Path) -> FileStateStore:
    return FileStateStore(tmp_path / "state")


@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_every_key_maps_to_safe_names_inside_the_folder(key: str, tmp_path: Path) -> None:
    parts = key_to_path_parts(key)
    assert path_parts_to_key(parts) == key
    for name in parts:
        assert SAFE_NAME.fullmatch(name), name
        assert len(name.encode()) <= 255
    path = FileStateStore(tmp_path).path_for(key)
    assert path.resolve().is_relative_to(tmp_path.resolve())


def test_keys_differing_in_case_differ_on_case_insensitive_file_systems() -> None:
    names = {"/".join(key_to_path_parts(key)).lower() for key in ("Pump", "pump", "PUMP", "pUmp")}
    assert len(names) == 4


@pytest.mark.parametrize("key", ["../x", "a/../../etc/passwd", "/etc/passwd", "a\\..\\b", ""])
def test_escaping_keys_are_refused_before_any_path_is_built(key: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidKeyError):
        FileStateStore(tmp_path).path_for(key)


async def test_layout_on_disk(store: FileStateStore) -> None:
    await store.save("runs/ü/pump", {"bar": 4.5})
    await store.save("runs/ü/pump", {"bar": 5.0})
    path = store.root / "runs" / "%C3%BC" / "pump.json"
    assert store.path_for("runs/ü/pump") == path
    assert json.loads(path.read_text("utf-8")) == {"version": 2, "state": {"bar": 5.0}}
    files = sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*"))
    files = [name for name in files if (store.root / name).is_file()]
    # The document, one lock file, and no temporary file left behind.
    assert [name for name in files if not name.startswith(".locks/")] == ["runs/%C3%BC/pump.json"]
    locks = [name for name in files if name.startswith(".locks/")]
    assert len(locks) == 1
    assert re.fullmatch(r"\.locks/[0-9a-f]{3}\.lock", locks[0])


async def test_files_that_are_not_the_stores_are_ignored_by_keys(store: FileStateStore) -> None:
    await store.save("a/b", {})
    for stray in ("README.txt", "Upper.json", ".hidden.json", "x~.json", "a/notes.md", "%ZZ.json"):
        (store.root / stray).write_text("{}")
    assert await store.keys() == ["a/b"]


async def test_a_garbage_file_is_reported_and_kept(store: FileStateStore) -> None:
    await store.save("k", {"n": 1})
    path = store.path_for("k")
    for garbage in (b"\x00\xff not even utf-8", b'{"version": "x", "state": {}}', b'{"v": 1}'):
        path.write_bytes(garbage)
        with pytest.raises(CorruptStateError) as caught:
            await store.load("k")
        assert (caught.value.key, caught.value.location) == ("k", str(path))
        with pytest.raises(CorruptStateError):
            await store.save("k", {"n": 2})
        assert path.read_bytes() == garbage
    assert await store.keys() == ["k"]


async def test_a_failed_write_leaves_the_old_document_and_no_temporary_file(
    store: FileStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save("k", {"n": 1})

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        await store.save("k", {"n": 2})
    monkeypatch.undo()
    assert await store.load("k") == Versioned({"n": 1}, 1)
    assert sorted(p.name for p in store.path_for("k").parent.iterdir()) == [".locks", "k.json"]


async def test_a_file_where_the_folder_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    store = FileStateStore(tmp_path / "not-a-folder")
    with pytest.raises(ConfigurationError, match="not a folder"):
        await store.save("k", {})


async def test_keys_prunes_folders_without_losing_long_or_nested_keys(
    store: FileStateStore,
) -> None:
    long = "é" * 250  # split across three folders
    names = [long, long[:-1] + "x", f"a/{long}/b", f"a/{long[:100]}", "ab", "a/b/c"]
    for name in names:
        await store.save(name, {})
    for prefix in ["", "é" * 150, long, "a/", "a/" + "é" * 120, f"a/{long}/", "a/b", "ab", "b"]:
        assert await store.keys(prefix) == sorted(n for n in names if n.startswith(prefix))
