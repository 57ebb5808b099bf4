"""Pydantic AI message histories in the shared StateStore, one document per role of a run.

Pydantic AI keeps a conversation as a list of ``ModelMessage`` objects and persists it the way
its docs show: ``ModelMessagesTypeAdapter`` dumps it to JSON and validates it back. The adapter
keeps each role's history under :func:`history_key` (``runs/{run_id}/pydantic-ai/{role}``),
written with compare-and-set whenever a step of the agent's graph added messages (Pydantic AI
appends a request -- the tool results -- when it sends it, so they are saved with the model's
next response), so a run that dies continues from its last finished step:

.. code-block:: text

    {
      "format": 1,
      "framework_version": "2.31.1",
      "role": "operator",
      "messages": [...],    # ModelMessagesTypeAdapter.dump_python(messages, mode="json")
      "answer": null        # the role's final answer once it has one
    }

A history ending in a model response whose tool calls have no results yet is what a process
killed during a tool call (or the model call after it) leaves; Pydantic AI runs those calls first when the agent is run again
on it, under the same tool-call ids, which the plant's executor recognises (nothing acts twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentrig.core.state.base import StateStore
from agentrig.core.state.documents import VersionedDocument
from agentrig.exceptions import MissingExtraError

try:
    from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the Pydantic AI adapter", "pydantic-ai") from error

__all__ = ["HISTORY_FORMAT", "RoleHistory", "SavedHistory", "history_key"]

HISTORY_FORMAT: Literal[1] = 1


def history_key(run_id: str, role: str) -> str:
    """The StateStore key of one role's Pydantic AI message history."""
    return f"runs/{run_id}/pydantic-ai/{role}"


class SavedHistory(BaseModel):
    """A role's conversation after its last finished step.

    Attributes:
        framework_version: the pydantic-ai version that wrote ``messages``.
        role: the role whose conversation it is.
        messages: the conversation, as ``ModelMessagesTypeAdapter`` dumps it.
        answer: the role's final answer, once it has one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = HISTORY_FORMAT
    framework_version: str
    role: str
    messages: list[dict[str, Any]]
    answer: str | None = None

    def model_messages(self) -> list[ModelMessage]:
        """The conversation as Pydantic AI messages."""
        return ModelMessagesTypeAdapter.validate_python(self.messages)


class RoleHistory:
    """Loads and saves one role's :class:`SavedHistory`, each save compare-and-set.

    The version seen by the last :meth:`load` or :meth:`save` is the one the next save expects,
    so two processes resuming the same run cannot both write: the second gets
    :class:`~agentrig.exceptions.VersionConflict` and nothing is overwritten. (A
    :class:`~agentrig.core.state.documents.VersionedDocument` does the loading and saving; this
    class turns Pydantic AI messages into the document.)
    """

    def __init__(self, store: StateStore, run_id: str, role: str, framework_version: str) -> None:
        self.role = role
        self.framework_version = framework_version
        self.document = VersionedDocument(
            store,
            history_key(run_id, role),
            SavedHistory,
            "Pydantic AI history",
            start_over="start the role over",
            check=SavedHistory.model_messages,
        )

    async def load(self) -> SavedHistory | None:
        """The stored history, or None when the role has not started.

        Raises:
            AdapterError: the document is not a history this adapter can resume from (its
                messages included).
        """
        return await self.document.load()

    async def save(self, messages: Sequence[ModelMessage], answer: str | None = None) -> int:
        """Store the conversation (and the final answer, once there is one); return its version.

        Raises:
            VersionConflict: another process wrote this role's history meanwhile.
        """
        return await self.document.save(
            SavedHistory(
                framework_version=self.framework_version,
                role=self.role,
                messages=ModelMessagesTypeAdapter.dump_python(list(messages), mode="json"),
                answer=answer,
            )
        )
