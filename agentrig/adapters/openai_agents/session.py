"""The OpenAI Agents SDK's ``Session`` protocol on agentrig's StateStore, and the run's progress.

Two kinds of document per run, both plain JSON, every write compare-and-set:

.. code-block:: text

    runs/{run_id}/openai-agents/session/{role}   # StoreSession: one role's conversation
      {"format": 1, "session_id": "{run_id}:{role}",
       "items": [{"role": "user", "content": "..."}, {"type": "function_call", ...},
                 {"type": "function_call_output", ...}, ...]}   # SDK input items, in order

    runs/{run_id}/openai-agents/progress         # RunProgress: the roles finished so far
      {"format": 1, "framework_version": "0.13.6",
       "answers": {"monitor": "..."}, "handoffs": [{...}]}     # Messages as received

``Runner.run(..., session=StoreSession(...))`` saves the role's task before its first model call
and each turn's items once the turn's tool calls have all returned (SDK ``run.py``: the input
before the loop, then ``save_result_to_session`` per turn), so a killed role resumes with every
finished turn and never a tool call without its result.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.messaging.message import Message
from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()

try:
    from agents import SessionSettings, TResponseInputItem
except ImportError as error:
    raise MissingExtraError("the OpenAI Agents adapter", "openai-agents") from error

__all__ = [
    "DOCUMENT_FORMAT",
    "ProgressStore",
    "RunProgress",
    "StoreSession",
    "progress_key",
    "session_key",
]

DOCUMENT_FORMAT: Literal[1] = 1


def session_key(run_id: str, role: str) -> str:
    """The StateStore key of one role's SDK session in a run."""
    return f"runs/{run_id}/openai-agents/session/{role}"


def progress_key(run_id: str) -> str:
    """The StateStore key of a run's :class:`RunProgress`."""
    return f"runs/{run_id}/openai-agents/progress"


class _SessionDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = DOCUMENT_FORMAT
    session_id: str
    items: list[dict[str, Any]] = []


def _refused(key: str, version: int, error: ValidationError, what: str) -> AdapterError:
    first = error.errors()[0]
    return AdapterError(
        f"the {what} under {key!r} (version {version}) cannot be resumed: "
        f"{error.error_count()} problem(s), first: {first['msg']} at "
        f"{'.'.join(str(part) for part in first['loc'])}. It is left in place; delete the key "
        "to start the run over, or use a new run id"
    )


class StoreSession:
    """An SDK ``Session`` (the protocol in ``agents.memory.session``) kept in a StateStore.

    One document per session; :meth:`add_items` and :meth:`pop_item` write it compare-and-set
    against the version last read, so two processes resuming the same run cannot interleave
    their turns: the second gets :class:`~agentrig.exceptions.VersionConflict`. Example::

        session = StoreSession(store, run_id, "monitor")
        result = await Runner.run(agent, "the alarm...", session=session)
    """

    session_settings: SessionSettings | None = None

    def __init__(self, store: StateStore, run_id: str, role: str) -> None:
        self.store = store
        self.key = session_key(run_id, role)
        self.session_id = f"{run_id}:{role}"
        self.version = 0

    async def _load(self) -> list[dict[str, Any]]:
        loaded = await self.store.load(self.key)
        if loaded is None:
            self.version = 0
            return []
        try:
            document = _SessionDocument.model_validate(loaded.state)
        except ValidationError as error:
            raise _refused(self.key, loaded.version, error, "OpenAI Agents session") from error
        self.version = loaded.version
        return list(document.items)

    async def _save(self, items: list[dict[str, Any]]) -> None:
        document = _SessionDocument(session_id=self.session_id, items=items)
        self.version = await self.store.save(
            self.key, document.model_dump(mode="json"), expected_version=self.version
        )

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The conversation so far, oldest first; the latest ``limit`` items when given."""
        items = await self._load()
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return cast("list[TResponseInputItem]", items)

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append ``items`` (one turn, or the task) in one compare-and-set write.

        Raises:
            VersionConflict: another process wrote this session since it was read.
            NotSerializableError: an item is not JSON (its path is named).
        """
        if not items:
            return
        stored = await self._load()
        await self._save([*stored, *(cast("dict[str, Any]", item) for item in items)])

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the latest item, or None when the session is empty."""
        stored = await self._load()
        if not stored:
            return None
        last = stored.pop()
        await self._save(stored)
        return cast("TResponseInputItem", last)

    async def clear_session(self) -> None:
        """Forget the conversation (the document goes from the store)."""
        await self.store.delete(self.key)
        self.version = 0


class RunProgress(BaseModel):
    """The roles of a run finished so far, and the handoffs sent after them.

    Attributes:
        framework_version: the openai-agents version that wrote it.
        answers: each finished role's final answer, in role order.
        handoffs: the handoff Messages received on the bus so far (the next one's causation,
            and the text the next role's task is built from).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = DOCUMENT_FORMAT
    framework_version: str
    answers: dict[str, str] = {}
    handoffs: list[Message] = []


class ProgressStore:
    """Loads and saves one run's :class:`RunProgress`, each save compare-and-set."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.key = progress_key(run_id)
        self.version = 0

    async def load(self) -> RunProgress | None:
        """The stored progress, or None when the run has none yet.

        Raises:
            AdapterError: the document is not progress this adapter can resume from.
        """
        loaded = await self.store.load(self.key)
        if loaded is None:
            self.version = 0
            return None
        try:
            progress = RunProgress.model_validate(loaded.state)
        except ValidationError as error:
            raise _refused(self.key, loaded.version, error, "OpenAI Agents run progress") from error
        self.version = loaded.version
        return progress

    async def save(self, progress: RunProgress) -> int:
        """Store ``progress`` if nobody wrote since our last load or save; return its version.

        Raises:
            VersionConflict: another process wrote this run's progress meanwhile.
        """
        self.version = await self.store.save(
            self.key, progress.model_dump(mode="json"), expected_version=self.version
        )
        return self.version
