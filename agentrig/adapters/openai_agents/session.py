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

from pydantic import BaseModel, ConfigDict

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.messaging.message import Message
from agentrig.core.state.base import StateStore
from agentrig.core.state.documents import VersionedDocument
from agentrig.exceptions import MissingExtraError

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
        self.session_id = f"{run_id}:{role}"
        self.document = VersionedDocument(
            store, session_key(run_id, role), _SessionDocument, "OpenAI Agents session"
        )

    async def _load(self) -> list[dict[str, Any]]:
        document = await self.document.load()
        return [] if document is None else list(document.items)

    async def _save(self, items: list[dict[str, Any]]) -> None:
        await self.document.save(_SessionDocument(session_id=self.session_id, items=items))

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
        await self.document.store.delete(self.document.key)
        self.document.version = 0


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


class ProgressStore(VersionedDocument[RunProgress]):
    """Loads and saves one run's :class:`RunProgress`, each save compare-and-set.

    A document this adapter cannot resume from fails :meth:`load` with
    :class:`~agentrig.exceptions.AdapterError`; a save after another process wrote the run's
    progress fails with :class:`~agentrig.exceptions.VersionConflict`.
    """

    def __init__(self, store: StateStore, run_id: str) -> None:
        super().__init__(store, progress_key(run_id), RunProgress, "OpenAI Agents run progress")
