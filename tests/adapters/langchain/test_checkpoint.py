"""StateStoreCheckpointer against LangGraph's checkpointer contract, on real backends.

The basics of langgraph's checkpoint conformance -- put/get, parent links, listing order and
filters, pending writes, delete_thread -- on the in-memory store and the durable ones (SQLite in
a temporary folder always; Redis and PostgreSQL when they run here), plus what agentrig adds:
JSON documents only (never pickle), keys inside the run's key space, compare-and-set under
concurrent writers.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import pickle
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import ERROR

from agentrig.adapters.langchain.checkpoint import (
    StateStoreCheckpointer,
    checkpoint_prefix,
    decode_segment,
    encode_segment,
)
from agentrig.core.state import MemoryStateStore, StateStore, open_state_store, validate_key
from agentrig.exceptions import ConfigurationError, CorruptStateError

PREFIX = "runs/r1/langgraph"


@pytest.fixture
async def store(backend_url: str) -> AsyncIterator[StateStore]:
    # Every backend, through the suite-wide fixture (tests/conftest.py).
    async with open_state_store(backend_url) as opened:
        yield opened


@pytest.fixture
def saver(store: StateStore) -> StateStoreCheckpointer:
    return StateStoreCheckpointer(store, prefix=PREFIX)


def make_checkpoint(step: int, values: dict[str, Any] | None = None) -> Checkpoint:
    values = values or {}
    return Checkpoint(
        v=4,
        id=str(uuid6(clock_seq=step)),
        ts=datetime.now(UTC).isoformat(),
        channel_values=values,
        channel_versions=dict.fromkeys(values, step + 1),
        versions_seen={"model": dict.fromkeys(values, step)},
        updated_channels=sorted(values),
    )


def config(thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None) -> Any:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


async def put_chain(
    saver: StateStoreCheckpointer, thread_id: str, steps: int, checkpoint_ns: str = ""
) -> list[RunnableConfig]:
    """``steps`` checkpoints, each the child of the one before; their configs in order."""
    saved: list[RunnableConfig] = []
    parent = config(thread_id, checkpoint_ns)
    for step in range(steps):
        checkpoint = make_checkpoint(step, {"counter": step})
        metadata: CheckpointMetadata = {"source": "loop", "step": step, "parents": {}}
        parent = await saver.aput(parent, checkpoint, metadata, {"counter": step + 1})
        saved.append(parent)
    return saved


# ------------------------------------------------------------------ put, get, parents


async def test_put_then_get_by_id_and_latest(saver: StateStoreCheckpointer) -> None:
    history = [HumanMessage("alarm", id="h1"), AIMessage("on it", id="a1")]
    checkpoint = make_checkpoint(0, {"messages": history, "jump_to": None})
    metadata: CheckpointMetadata = {"source": "input", "step": -1, "parents": {}}
    returned = await saver.aput(
        {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "operator": "ana"}},
        checkpoint,
        metadata,
        {"messages": 1},
    )
    assert returned == config("t1", "", checkpoint["id"])
    by_id = await saver.aget_tuple(returned)
    latest = await saver.aget_tuple(config("t1"))
    assert by_id is not None
    assert latest == by_id
    assert by_id.checkpoint == checkpoint
    assert by_id.checkpoint["channel_values"]["messages"] == history
    # Metadata keeps what it was given and gains the config's plain values (not thread_id).
    assert by_id.metadata == {"source": "input", "step": -1, "parents": {}, "operator": "ana"}
    assert by_id.parent_config is None
    assert by_id.pending_writes == []
    assert await saver.aget_tuple(config("t1", "", str(uuid6(clock_seq=9)))) is None
    assert await saver.aget_tuple(config("nobody")) is None


async def test_each_checkpoint_points_at_its_parent(saver: StateStoreCheckpointer) -> None:
    saved = await put_chain(saver, "t1", 4)
    for parent, child in itertools.pairwise(saved):
        found = await saver.aget_tuple(child)
        assert found is not None
        assert found.parent_config == parent
    latest = await saver.aget_tuple(config("t1"))
    assert latest is not None
    assert latest.config == saved[-1]
    assert latest.checkpoint["channel_values"] == {"counter": 3}


async def test_list_is_newest_first_with_before_limit_and_filter(
    saver: StateStoreCheckpointer,
) -> None:
    saved = await put_chain(saver, "t1", 5)
    ids = [c["configurable"]["checkpoint_id"] for c in saved]
    listed = [t.config["configurable"]["checkpoint_id"] async for t in saver.alist(config("t1"))]
    assert listed == ids[::-1]
    before = [t.config async for t in saver.alist(config("t1"), before=saved[3], limit=2)]
    assert before == [saved[2], saved[1]]
    filtered = [t.metadata["step"] async for t in saver.alist(config("t1"), filter={"step": 1})]
    assert filtered == [1]
    one = [t.config async for t in saver.alist(saved[2])]
    assert one == [saved[2]]


async def test_namespaces_and_threads_are_kept_apart(saver: StateStoreCheckpointer) -> None:
    root = await put_chain(saver, "t1", 2)
    child = await put_chain(saver, "t1", 3, checkpoint_ns="tools:call-1")
    other = await put_chain(saver, "t2", 1)
    latest_root = await saver.aget_tuple(config("t1"))
    latest_child = await saver.aget_tuple(config("t1", "tools:call-1"))
    assert latest_root is not None
    assert latest_child is not None
    assert (latest_root.config, latest_child.config) == (root[-1], child[-1])
    only_child = [t.config async for t in saver.alist(config("t1", "tools:call-1"))]
    assert only_child == child[::-1]
    whole_thread = [t.config async for t in saver.alist({"configurable": {"thread_id": "t1"}})]
    assert sorted(map(str, whole_thread)) == sorted(map(str, root + child))
    everything = [t.config async for t in saver.alist(None)]
    assert sorted(map(str, everything)) == sorted(map(str, root + child + other))


# ------------------------------------------------------------------ pending writes


async def test_writes_come_back_in_task_order_and_are_not_replayed(
    saver: StateStoreCheckpointer,
) -> None:
    (saved,) = await put_chain(saver, "t1", 1)
    await saver.aput_writes(saved, [("messages", "b0"), ("extra", "b1")], "task-b", "~path-2")
    await saver.aput_writes(saved, [("messages", "a0")], "task-a", "~path-1")
    # A replayed task writing again keeps the first values; special writes are replaced.
    await saver.aput_writes(saved, [("messages", "changed")], "task-a", "~path-1")
    await saver.aput_writes(saved, [(ERROR, "first error")], "task-c", "~path-3")
    await saver.aput_writes(saved, [(ERROR, "last error")], "task-c", "~path-3")
    found = await saver.aget_tuple(saved)
    assert found is not None
    assert found.pending_writes == [
        ("task-a", "messages", "a0"),
        ("task-b", "messages", "b0"),
        ("task-b", "extra", "b1"),
        ("task-c", ERROR, "last error"),
    ]


async def test_concurrent_writers_lose_nothing(saver: StateStoreCheckpointer) -> None:
    (saved,) = await put_chain(saver, "t1", 1)
    await asyncio.gather(
        *(
            saver.aput_writes(saved, [("messages", f"value-{n}")], f"task-{n:02}", f"~{n:02}")
            for n in range(12)
        )
    )
    found = await saver.aget_tuple(saved)
    assert found is not None
    assert found.pending_writes == [(f"task-{n:02}", "messages", f"value-{n}") for n in range(12)]


async def test_concurrent_puts_are_all_indexed(saver: StateStoreCheckpointer) -> None:
    checkpoints = [make_checkpoint(step, {"n": step}) for step in range(8)]
    await asyncio.gather(
        *(saver.aput(config("t1"), c, {"step": n}, {}) for n, c in enumerate(checkpoints))
    )
    listed = [t.checkpoint["id"] async for t in saver.alist(config("t1"))]
    assert listed == sorted((c["id"] for c in checkpoints), reverse=True)


# ------------------------------------------------------------------ delete


async def test_delete_thread_removes_that_thread_only(
    saver: StateStoreCheckpointer, store: StateStore
) -> None:
    (kept,) = await put_chain(saver, "keep", 1)
    doomed = await put_chain(saver, "doomed", 2)
    await saver.aput_writes(doomed[-1], [("messages", "x")], "task", "")
    await saver.adelete_thread("doomed")
    assert await saver.aget_tuple(config("doomed")) is None
    assert [t async for t in saver.alist(config("doomed"))] == []
    assert await store.keys(saver.thread_prefix("doomed")) == []
    found = await saver.aget_tuple(config("keep"))
    assert found is not None
    assert found.config == kept


# ------------------------------------------------------------------ JSON only, never pickle


async def test_documents_are_json_with_base64_serde_values(
    saver: StateStoreCheckpointer, store: StateStore
) -> None:
    values = {"messages": [AIMessage("", tool_calls=[{"name": "x", "args": {}, "id": "c1"}])]}
    (saved,) = [
        await saver.aput(config("t/1"), make_checkpoint(0, values), {"step": 0}, {"messages": 1})
    ]
    await saver.aput_writes(saved, [("messages", [ToolMessage("ok", tool_call_id="c1")])], "t", "")
    checkpoint_id = saved["configurable"]["checkpoint_id"]
    keys = await store.keys(PREFIX + "/")
    assert keys == sorted(
        [
            saver.index_key("t/1"),
            saver.checkpoint_key("t/1", "", checkpoint_id),
            saver.writes_key("t/1", "", checkpoint_id),
        ]
    )
    assert saver.checkpoint_key("t/1", "", checkpoint_id) == f"{PREFIX}/t%2F1/~/{checkpoint_id}"
    document = await store.load(saver.checkpoint_key("t/1", "", checkpoint_id))
    assert document is not None
    assert document.state["format"] == "agentrig.langgraph/1"
    assert document.state["parent_checkpoint_id"] is None
    assert document.state["checkpoint"]["type"] == "msgpack"
    data = base64.b64decode(document.state["checkpoint"]["data"])
    assert saver.serde.loads_typed(("msgpack", data))["channel_values"] == values
    writes = await store.load(saver.writes_key("t/1", "", checkpoint_id))
    assert writes is not None
    assert [w["value"]["type"] for w in writes.state["writes"]] == ["msgpack"]


async def test_raw_sqlite_rows_are_json(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    async with open_state_store(f"sqlite:///{path}") as store:
        saver = StateStoreCheckpointer(store, prefix=PREFIX)
        (saved,) = await put_chain(saver, "t1", 1)
        await saver.aput_writes(saved, [("messages", [HumanMessage("hi")])], "task", "")
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT key, document FROM agentrig_state").fetchall()
    assert len(rows) == 3
    for _key, text in rows:
        json.loads(text)
        assert "pickle" not in text


def test_a_pickling_serde_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="pickle"):
        StateStoreCheckpointer(MemoryStateStore(), serde=JsonPlusSerializer(pickle_fallback=True))


async def test_a_stored_pickle_is_reported_never_loaded(
    saver: StateStoreCheckpointer, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    (saved,) = await put_chain(saver, "t1", 1)
    key = saver.checkpoint_key("t1", "", saved["configurable"]["checkpoint_id"])
    loaded = await store.load(key)
    assert loaded is not None
    tampered = dict(loaded.state)
    tampered["checkpoint"] = {
        "type": "pickle",
        "data": base64.b64encode(pickle.dumps({"v": 1})).decode(),
    }
    await store.save(key, tampered)

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("pickle.loads was called")

    monkeypatch.setattr(pickle, "loads", refuse)
    with pytest.raises(CorruptStateError, match="never pickle"):
        await saver.aget_tuple(config("t1"))


@pytest.mark.parametrize(
    "foreign",
    [
        {"foo": "bar"},
        {"format": "agentrig.langgraph/1", "thread_id": "t1", "namespaces": {"": "abc"}},
        {"format": "agentrig.langgraph/1", "namespaces": {"": []}},
    ],
    ids=["not-an-index", "ids-not-a-list", "no-thread-id"],
)
async def test_a_thread_index_that_is_not_one_is_refused_and_kept(
    saver: StateStoreCheckpointer, store: StateStore, foreign: dict[str, Any]
) -> None:
    await put_chain(saver, "t1", 2)
    key = saver.index_key("t1")
    version = await store.save(key, foreign)
    with pytest.raises(CorruptStateError, match=r"index") as refused:
        await saver.aget_tuple(config("t1"))
    assert refused.value.key == key
    with pytest.raises(CorruptStateError):
        _ = [found async for found in saver.alist(config("t1"))]
    with pytest.raises(CorruptStateError):
        _ = [found async for found in saver.alist(None)]
    # Nor is it overwritten by the next checkpoint: the run must not silently start over.
    with pytest.raises(CorruptStateError):
        await put_chain(saver, "t1", 1)
    kept = await store.load(key)
    assert kept is not None
    assert (kept.state, kept.version) == (foreign, version)


# ------------------------------------------------------------------ keys, versions, sync API


@pytest.mark.parametrize("value", ["", "run-1:monitor", "a/b", "..", ".", "50%", "~", "x\\y"])
def test_key_segments_are_valid_and_reversible(value: str) -> None:
    segment = encode_segment(value)
    validate_key(f"runs/{segment}/x")
    assert "/" not in segment
    assert decode_segment(segment) == value


def test_distinct_threads_get_distinct_keys() -> None:
    saver = StateStoreCheckpointer(MemoryStateStore(), prefix=checkpoint_prefix("r1"))
    threads = ["a/b", "a%2Fb", "a", "~", "", ".."]
    keys = {saver.index_key(thread) for thread in threads}
    assert len(keys) == len(threads)
    assert saver.index_key("r1:monitor") == "runs/r1/langgraph/r1:monitor/index"


def test_channel_versions_are_increasing_integers() -> None:
    saver = StateStoreCheckpointer(MemoryStateStore())
    assert [saver.get_next_version(v, None) for v in (None, 1, 41)] == [1, 2, 42]


def test_the_sync_api_points_to_the_async_one() -> None:
    saver = StateStoreCheckpointer(MemoryStateStore())
    with pytest.raises(NotImplementedError, match="aget_tuple"):
        saver.get_tuple(config("t1"))
    with pytest.raises(NotImplementedError, match="aput"):
        saver.put(config("t1"), make_checkpoint(0), {}, {})
    with pytest.raises(NotImplementedError, match="alist"):
        list(saver.list(None))
