"""Agent Framework run checkpoints in the shared StateStore: each role's ``AgentSession``, as JSON.

The adapter keeps one document per run under :func:`checkpoint_key`
(``runs/{run_id}/agent-framework/sessions``). It is written with compare-and-set after every role's
agent run and after every handoff on the bus, so a run that dies resumes from its last finished
step:

.. code-block:: text

    {
      "format": 1,
      "framework_version": "1.23.0",
      "sessions": {"monitor": {...}},   # AgentSession.to_dict(): the session id and its state,
                                        # where InMemoryHistoryProvider keeps the role's messages
      "answers": {"monitor": "..."},    # final texts, in turn order
      "handoffs": [{...}]               # the handoff Messages received on the bus so far
    }

``AgentSession.to_dict()`` is plain JSON (Agent Framework serialises its ``Message`` objects
itself); the store refuses anything else with :class:`~agentrig.exceptions.NotSerializableError`.
``AgentSession.from_dict()`` restores a session, messages included.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentrig.core.messaging.message import Message
from agentrig.core.state.base import StateStore
from agentrig.core.state.documents import VersionedDocument

__all__ = ["CHECKPOINT_FORMAT", "RunCheckpoint", "RunCheckpoints", "checkpoint_key"]

CHECKPOINT_FORMAT: Literal[1] = 1


def checkpoint_key(run_id: str) -> str:
    """The StateStore key of a run's Agent Framework checkpoint."""
    return f"runs/{run_id}/agent-framework/sessions"


class RunCheckpoint(BaseModel):
    """A run's Agent Framework sessions and answers after its last finished step.

    Attributes:
        framework_version: the agent-framework-core version that wrote ``sessions``.
        sessions: each finished role's ``AgentSession.to_dict()``.
        answers: each finished role's final answer, in turn order.
        handoffs: the handoffs received on the bus so far (the next one's causation).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = CHECKPOINT_FORMAT
    framework_version: str
    sessions: dict[str, dict[str, Any]] = {}
    answers: dict[str, str] = {}
    handoffs: list[Message] = []


class RunCheckpoints(VersionedDocument[RunCheckpoint]):
    """Loads and saves one run's :class:`RunCheckpoint`, each save compare-and-set.

    The version seen by the last :meth:`load` or :meth:`save` is the one the next save expects,
    so two processes resuming the same run cannot both write: the second gets
    :class:`~agentrig.exceptions.VersionConflict` and nothing is overwritten. A checkpoint this
    adapter cannot resume from fails :meth:`load` with
    :class:`~agentrig.exceptions.AdapterError`, and a session that is not JSON fails
    :meth:`save` with :class:`~agentrig.exceptions.NotSerializableError` naming its path.
    """

    def __init__(self, store: StateStore, run_id: str) -> None:
        super().__init__(store, checkpoint_key(run_id), RunCheckpoint, "Agent Framework checkpoint")
