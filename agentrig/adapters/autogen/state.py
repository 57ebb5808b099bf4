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

from pydantic import BaseModel, ConfigDict

from agentrig.core.messaging.message import Message
from agentrig.core.state.base import StateStore
from agentrig.core.state.documents import VersionedDocument

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


class TeamCheckpoints(VersionedDocument[TeamCheckpoint]):
    """Loads and saves one run's :class:`TeamCheckpoint`, each save compare-and-set.

    The version seen by the last :meth:`load` or :meth:`save` is the one the next save expects,
    so two processes resuming the same run cannot both write: the second gets
    :class:`~agentrig.exceptions.VersionConflict` and nothing is overwritten. A checkpoint this
    adapter cannot resume from fails :meth:`load` with
    :class:`~agentrig.exceptions.AdapterError`, and a team state that is not JSON fails
    :meth:`save` with :class:`~agentrig.exceptions.NotSerializableError` naming its path.
    """

    def __init__(self, store: StateStore, run_id: str) -> None:
        super().__init__(store, checkpoint_key(run_id), TeamCheckpoint, "AutoGen checkpoint")
