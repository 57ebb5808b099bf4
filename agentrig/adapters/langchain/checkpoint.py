"""A LangGraph checkpointer that keeps its checkpoints in agentrig's shared StateStore.

:class:`StateStoreCheckpointer` lets any LangGraph graph -- the LangChain adapter's
``create_agent`` agents among them -- persist to whichever backend the run uses (memory, file,
SQLite, Redis, PostgreSQL), so a killed run can be resumed from another process. Layout, under a
key prefix (the adapter uses ``runs/{run_id}/langgraph``)::

    {prefix}/{thread}/index                        the thread's checkpoint ids per namespace
    {prefix}/{thread}/{ns}/{checkpoint_id}         one checkpoint: values, metadata, parent id
    {prefix}/{thread}/{ns}/{checkpoint_id}/writes  the pending writes stored against it

``{thread}`` and ``{ns}`` are the thread id and checkpoint namespace with ``%``, ``/``, ``\\``,
``~`` and control characters percent-encoded; the root namespace ``""`` is written ``~`` (a key
segment may not be empty). The index and the writes documents are updated with compare-and-set,
so concurrent tasks (parallel tool calls write to one checkpoint at once) never lose a write.

The store holds JSON only. Checkpoints, metadata and written values go through the saver's serde
(``dumps_typed`` -> ``(type, bytes)``) and are stored as ``{"type": ..., "data": <base64>}``. The
default serde is LangGraph's ``JsonPlusSerializer`` in strict mode (msgpack, only allow-listed
types are rebuilt; LangGraph adds the graph's own state types) and pickle is refused both ways:
a serde with ``pickle_fallback`` is rejected at construction and a stored ``pickle`` value is
reported as corrupt, never loaded -- a store is shared infrastructure.

The StateStore is asynchronous, so this saver is too: use ``ainvoke``/``astream``/
``aget_state``. The synchronous methods raise :class:`NotImplementedError` saying so; bridging
them onto an event loop from inside a running one would deadlock.

Channel versions are integers (the base class's ``get_next_version``): channel values are stored
inside each checkpoint document, so versions never have to tell two forks' blobs apart.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, NoReturn, cast

from agentrig.adapters.langchain.documents import (
    CHECKPOINT_FORMAT,
    checked_index,
    checkpoint_prefix,
    decode_segment,
    dump_value,
    encode_segment,
    load_value,
)
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.state.base import JsonObject, StateStore, validate_key
from agentrig.exceptions import (
    ConfigurationError,
    MissingExtraError,
    StateError,
    VersionConflict,
)

disable_phone_home()

try:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import (
        WRITES_IDX_MAP,
        BaseCheckpointSaver,
        ChannelVersions,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
        PendingWrite,
        get_checkpoint_id,
        get_serializable_checkpoint_metadata,
        writes_sort_key,
    )
    from langgraph.checkpoint.serde.base import SerializerProtocol
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangGraph checkpointer", "langchain") from error

__all__ = [
    "CHECKPOINT_FORMAT",
    "StateStoreCheckpointer",
    "checkpoint_prefix",
    "decode_segment",
    "encode_segment",
]

MAX_CAS_ATTEMPTS = 100
"""Compare-and-set retries before an index or writes update gives up (only under heavy contention)."""


class StateStoreCheckpointer(BaseCheckpointSaver[int]):
    """LangGraph checkpoints in a :class:`~agentrig.core.state.StateStore` (async API only).

    Example::

        saver = StateStoreCheckpointer(store, prefix=checkpoint_prefix(run_id))
        agent = create_agent(model, tools, checkpointer=saver)
        await agent.ainvoke(inputs, {"configurable": {"thread_id": f"{run_id}:monitor"}})
        state = await agent.aget_state({"configurable": {"thread_id": f"{run_id}:monitor"}})

    Args:
        store: where the documents go; the caller keeps owning (and closes) it.
        prefix: the key prefix of this saver's documents (a valid key).
        serde: a LangGraph serializer; by default ``JsonPlusSerializer`` in strict msgpack mode.

    Raises:
        ConfigurationError: ``serde`` would fall back to pickle.
        InvalidKeyError: ``prefix`` is not a valid key.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        prefix: str = "langgraph",
        serde: SerializerProtocol | None = None,
    ) -> None:
        serde = serde or JsonPlusSerializer(allowed_msgpack_modules=None)
        if _falls_back_to_pickle(serde):
            raise ConfigurationError(
                "StateStoreCheckpointer refuses a serde with pickle_fallback=True: the state store "
                "holds JSON only, and unpickling shared data is code execution; use "
                "JsonPlusSerializer() (msgpack) or allow-list your types with "
                "allowed_msgpack_modules"
            )
        super().__init__(serde=serde)
        self.store = store
        self.prefix = validate_key(prefix.rstrip("/"))
        self._location = str(getattr(store, "location", type(store).__name__))

    # ------------------------------------------------------------------ keys

    def thread_prefix(self, thread_id: str) -> str:
        """Every key of ``thread_id`` starts with this (followed by ``/``)."""
        return f"{self.prefix}/{encode_segment(thread_id)}"

    def index_key(self, thread_id: str) -> str:
        """The key of the thread's index document."""
        return f"{self.thread_prefix(thread_id)}/index"

    def checkpoint_key(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
        """The key of one checkpoint document."""
        return (
            f"{self.thread_prefix(thread_id)}/{encode_segment(checkpoint_ns)}/"
            f"{encode_segment(checkpoint_id)}"
        )

    def writes_key(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
        """The key of the pending writes stored against one checkpoint."""
        return f"{self.checkpoint_key(thread_id, checkpoint_ns, checkpoint_id)}/writes"

    # ------------------------------------------------------------------ async API

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's latest in its namespace; or None."""
        configurable = config.get("configurable", {})
        thread_id = str(configurable["thread_id"])
        checkpoint_ns = str(configurable.get("checkpoint_ns", ""))
        checkpoint_id = get_checkpoint_id(config)
        if not checkpoint_id:
            key = self.index_key(thread_id)
            index = await self.store.load(key)
            ids = (
                _namespace_ids(self._checked_index(key, index.state), checkpoint_ns)
                if index
                else []
            )
            if not ids:
                return None
            checkpoint_id = ids[-1]
        return await self._load_tuple(thread_id, checkpoint_ns, checkpoint_id, required=False)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints newest first, per thread and namespace, as ``InMemorySaver`` lists them.

        Args:
            config: one thread (and, if given, only its ``checkpoint_ns`` and ``checkpoint_id``);
                None lists every thread under the prefix.
            filter: metadata items every listed checkpoint must have.
            before: only checkpoints older than this one.
            limit: at most this many.
        """
        remaining = limit
        configurable = config.get("configurable", {}) if config else {}
        wanted_ns = configurable.get("checkpoint_ns")
        wanted_id = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        async for index in self._indexes(configurable.get("thread_id")):
            thread_id = str(index["thread_id"])
            for checkpoint_ns, ids in _namespaces(index).items():
                if wanted_ns is not None and checkpoint_ns != wanted_ns:
                    continue
                for checkpoint_id in reversed(ids):
                    if wanted_id and checkpoint_id != wanted_id:
                        continue
                    if before_id and checkpoint_id >= before_id:
                        continue
                    if remaining is not None and remaining <= 0:
                        return
                    found = await self._load_tuple(thread_id, checkpoint_ns, checkpoint_id)
                    if found is None or not _matches(found.metadata, filter):
                        continue
                    if remaining is not None:
                        remaining -= 1
                    yield found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint (its parent is the ``checkpoint_id`` in ``config``) and index it."""
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        checkpoint_ns = str(configurable.get("checkpoint_ns", ""))
        checkpoint_id = checkpoint["id"]
        full_metadata = get_serializable_checkpoint_metadata(config, metadata)
        key = self.checkpoint_key(thread_id, checkpoint_ns, checkpoint_id)
        document: JsonObject = {
            "format": CHECKPOINT_FORMAT,
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
            "parent_checkpoint_id": configurable.get("checkpoint_id"),
            "ts": checkpoint.get("ts"),
            # Readable without the serde: where the checkpoint came from and at which step.
            "source": full_metadata.get("source"),
            "step": full_metadata.get("step"),
            "checkpoint": self._dump(key, checkpoint),
            "metadata": self._dump(key, full_metadata),
        }
        # The document first, then the index: a crash in between leaves an unlisted document,
        # never an index entry without its checkpoint.
        await self.store.save(key, document)
        await self._index(thread_id, checkpoint_ns, checkpoint_id)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint ``config`` names.

        A regular write already stored for (task, index) is kept, as ``InMemorySaver`` keeps it
        (a replayed task must not change history); special writes (errors, interrupts) replace.
        """
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        checkpoint_ns = str(configurable.get("checkpoint_ns", ""))
        checkpoint_id = str(configurable["checkpoint_id"])
        key = self.writes_key(thread_id, checkpoint_ns, checkpoint_id)
        new: list[JsonObject] = [
            {
                "task_id": task_id,
                "idx": WRITES_IDX_MAP.get(channel, idx),
                "channel": channel,
                "task_path": task_path,
                "value": self._dump(key, value),
            }
            for idx, (channel, value) in enumerate(writes)
        ]
        for _ in range(MAX_CAS_ATTEMPTS):
            current = await self.store.load(key)
            stored: list[JsonObject] = list(current.state.get("writes", [])) if current else []
            positions = {(w["task_id"], w["idx"]): n for n, w in enumerate(stored)}
            for write in new:
                position = positions.get((write["task_id"], write["idx"]))
                if position is None:
                    positions[(write["task_id"], write["idx"])] = len(stored)
                    stored.append(write)
                elif write["idx"] < 0:
                    stored[position] = write
            document: JsonObject = {
                "format": CHECKPOINT_FORMAT,
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint_id,
                "writes": stored,
            }
            try:
                await self.store.save(key, document, current.version if current else 0)
            except VersionConflict:
                continue
            return
        _contended(key)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of ``thread_id`` (the index first)."""
        # Without its index the thread has no latest checkpoint at once; the documents follow.
        await self.store.delete(self.index_key(thread_id))
        for key in await self.store.keys(self.thread_prefix(thread_id) + "/"):
            await self.store.delete(key)

    # ------------------------------------------------------------------ internals

    def _checked_index(self, key: str, document: JsonObject) -> JsonObject:
        return checked_index(key, self._location, document)

    def _dump(self, key: str, value: Any) -> JsonObject:
        return dump_value(self.serde, key, value)

    def _load(self, key: str, stored: Any) -> Any:
        return load_value(self.serde, key, self._location, stored)

    async def _load_tuple(
        self, thread_id: str, checkpoint_ns: str, checkpoint_id: str, *, required: bool = True
    ) -> CheckpointTuple | None:
        key = self.checkpoint_key(thread_id, checkpoint_ns, checkpoint_id)
        loaded = await self.store.load(key)
        if loaded is None:
            if required:
                raise StateError(
                    f"the index of LangGraph thread {thread_id!r} lists checkpoint "
                    f"{checkpoint_id!r}, but {key!r} is missing; delete the thread "
                    "(adelete_thread) or restore the document"
                )
            return None
        document = loaded.state
        parent_id = document.get("parent_checkpoint_id")
        return CheckpointTuple(
            config=_config(thread_id, checkpoint_ns, checkpoint_id),
            checkpoint=cast("Checkpoint", self._load(key, document.get("checkpoint"))),
            metadata=cast("CheckpointMetadata", self._load(key, document.get("metadata"))),
            parent_config=_config(thread_id, checkpoint_ns, parent_id) if parent_id else None,
            pending_writes=await self._pending_writes(thread_id, checkpoint_ns, checkpoint_id),
        )

    async def _pending_writes(
        self, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> list[PendingWrite]:
        key = self.writes_key(thread_id, checkpoint_ns, checkpoint_id)
        loaded = await self.store.load(key)
        if loaded is None:
            return []
        stored: list[JsonObject] = loaded.state.get("writes", [])
        ordered = sorted(
            stored, key=lambda w: writes_sort_key(w["task_path"], w["task_id"], w["idx"])
        )
        return [(w["task_id"], w["channel"], self._load(key, w["value"])) for w in ordered]

    async def _index(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> None:
        key = self.index_key(thread_id)
        for _ in range(MAX_CAS_ATTEMPTS):
            current = await self.store.load(key)
            index: JsonObject = (
                # Checked before it is extended: a document that is not an index is refused,
                # never overwritten with one.
                self._checked_index(key, current.state)
                if current
                else {"format": CHECKPOINT_FORMAT, "thread_id": thread_id, "namespaces": {}}
            )
            ids: list[str] = index.setdefault("namespaces", {}).setdefault(checkpoint_ns, [])
            position = bisect.bisect_left(ids, checkpoint_id)
            if position < len(ids) and ids[position] == checkpoint_id:
                return  # already listed: a repeated put of the same checkpoint
            ids.insert(position, checkpoint_id)
            try:
                await self.store.save(key, index, current.version if current else 0)
            except VersionConflict:
                continue
            return
        _contended(key)

    async def _indexes(self, thread_id: Any) -> AsyncIterator[JsonObject]:
        if thread_id is not None:
            key = self.index_key(str(thread_id))
            loaded = await self.store.load(key)
            if loaded is not None:
                yield self._checked_index(key, loaded.state)
            return
        depth = self.prefix.count("/") + 2
        for key in await self.store.keys(self.prefix + "/"):
            if key.endswith("/index") and key.count("/") == depth:
                loaded = await self.store.load(key)
                if loaded is not None:
                    yield self._checked_index(key, loaded.state)

    # ---------------------------------------------------------- sync API
    # Last in the class: the method `list` would shadow the builtin in annotations below it.

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        _async_only("get_tuple", "aget_tuple")

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        _async_only("list", "alist")

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        _async_only("put", "aput")

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        _async_only("put_writes", "aput_writes")

    def delete_thread(self, thread_id: str) -> None:
        _async_only("delete_thread", "adelete_thread")


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _namespaces(index: JsonObject) -> dict[str, list[str]]:
    namespaces: dict[str, list[str]] = index["namespaces"]  # checked by _checked_index
    return namespaces


def _namespace_ids(index: JsonObject, checkpoint_ns: str) -> list[str]:
    return _namespaces(index).get(checkpoint_ns, [])


def _matches(metadata: CheckpointMetadata, wanted: dict[str, Any] | None) -> bool:
    if not wanted:
        return True
    found = cast("dict[str, Any]", metadata)
    return all(found.get(name) == value for name, value in wanted.items())


def _falls_back_to_pickle(serde: SerializerProtocol) -> bool:
    # EncryptedSerializer wraps another serde in `.serde`; check both layers.
    inner = getattr(serde, "serde", None)
    return bool(
        getattr(serde, "pickle_fallback", False) or getattr(inner, "pickle_fallback", False)
    )


def _async_only(method: str, async_method: str) -> NoReturn:
    raise NotImplementedError(
        f"StateStoreCheckpointer.{method} is not available: the StateStore is asynchronous, so "
        f"this checkpointer is too. Use {async_method} -- run graphs with ainvoke/astream and "
        "read state with aget_state/aget_state_history."
    )


def _contended(key: str) -> NoReturn:
    raise StateError(
        f"could not update {key!r}: {MAX_CAS_ATTEMPTS} compare-and-set attempts lost to "
        "concurrent writers; is more than one process running the same LangGraph thread?"
    )
