"""AutoGen team checkpoints in the shared StateStore: ``save_state`` / ``load_state`` as documents.

The AutoGen adapter keeps one document per run under :func:`checkpoint_key`
(``runs/{run_id}/autogen/team``). It is written with compare-and-set after every agent turn and
after every mirrored handoff, so a run that dies resumes from its last finished step:

.. code-block:: text

    {
      "format": 1,
      "framework_version": "0.7.5",
      "team": {...},        # BaseGroupChat.save_state(): each agent's LLM context and message
                            # buffer, and the group chat manager's thread and next speaker
      "answers": {"monitor": "...", "diagnostician": "..."},     # final texts, in turn order
      "handoffs": [{...}]   # the handoff Messages mirrored on the bus so far, as received
    }

The document is plain JSON (AgentChat's states are pydantic dumps of messages and ids); the
store refuses anything else with :class:`~agentrig.exceptions.NotSerializableError`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agentrig.core.messaging.message import Message
from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError

__all__ = ["CHECKPOINT_FORMAT", "TeamCheckpoint", "TeamCheckpoints", "checkpoint_key"]

CHECKPOINT_FORMAT: Literal[1] = 1


def checkpoint_key(run_id: str) -> str:
    """The StateStore key of a run's AutoGen team checkpoint."""
    return f"runs/{run_id}/autogen/team"


class TeamCheckpoint(BaseModel):
    """A run's AutoGen team after its last finished step.

    Attributes:
        framework_version: the autogen-agentchat version that wrote ``team``.
        team: what ``BaseGroupChat.save_state()`` returned, for ``load_state()``.
        answers: each finished role's final answer, in turn order.
        handoffs: the handoffs mirrored on the bus so far (the next one's causation).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = CHECKPOINT_FORMAT
    framework_version: str
    team: dict[str, Any]
    answers: dict[str, str] = {}
    handoffs: list[Message] = []


class TeamCheckpoints:
    """Loads and saves one run's :class:`TeamCheckpoint`, each save compare-and-set.

    The version seen by the last :meth:`load` or :meth:`save` is the one the next save expects,
    so two processes resuming the same run cannot both write: the second gets
    :class:`~agentrig.exceptions.VersionConflict` and nothing is overwritten.
    """

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.key = checkpoint_key(run_id)
        self.version = 0

    async def load(self) -> TeamCheckpoint | None:
        """The stored checkpoint, or None when the run has none yet.

        Raises:
            AdapterError: the document is not a checkpoint this adapter can resume from.
        """
        loaded = await self.store.load(self.key)
        if loaded is None:
            self.version = 0
            return None
        try:
            checkpoint = TeamCheckpoint.model_validate(loaded.state)
        except ValidationError as error:
            raise AdapterError(
                f"the AutoGen checkpoint under {self.key!r} (version {loaded.version}) cannot be "
                f"resumed: {error.error_count()} problem(s), first: {error.errors()[0]['msg']} at "
                f"{'.'.join(str(part) for part in error.errors()[0]['loc'])}. It is left in place; "
                "delete the key to start the run over, or use a new run id"
            ) from error
        self.version = loaded.version
        return checkpoint

    async def save(self, checkpoint: TeamCheckpoint) -> int:
        """Store ``checkpoint`` if nobody wrote since our last load or save; return its version.

        Raises:
            VersionConflict: another process wrote this run's checkpoint meanwhile.
            NotSerializableError: part of the team state is not JSON (its path is named).
        """
        self.version = await self.store.save(
            self.key, checkpoint.model_dump(mode="json"), expected_version=self.version
        )
        return self.version
