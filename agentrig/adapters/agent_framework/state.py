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

from pydantic import BaseModel, ConfigDict, ValidationError

from agentrig.core.messaging.message import Message
from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError

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


class RunCheckpoints:
    """Loads and saves one run's :class:`RunCheckpoint`, each save compare-and-set.

    The version seen by the last :meth:`load` or :meth:`save` is the one the next save expects,
    so two processes resuming the same run cannot both write: the second gets
    :class:`~agentrig.exceptions.VersionConflict` and nothing is overwritten.
    """

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.key = checkpoint_key(run_id)
        self.version = 0

    async def load(self) -> RunCheckpoint | None:
        """The stored checkpoint, or None when the run has none yet.

        Raises:
            AdapterError: the document is not a checkpoint this adapter can resume from.
        """
        loaded = await self.store.load(self.key)
        if loaded is None:
            self.version = 0
            return None
        try:
            checkpoint = RunCheckpoint.model_validate(loaded.state)
        except ValidationError as error:
            first = error.errors()[0]
            raise AdapterError(
                f"the Agent Framework checkpoint under {self.key!r} (version {loaded.version}) "
                f"cannot be resumed: {error.error_count()} problem(s), first: {first['msg']} at "
                f"{'.'.join(str(part) for part in first['loc'])}. It is left in place; delete "
                "the key to start the run over, or use a new run id"
            ) from error
        self.version = loaded.version
        return checkpoint

    async def save(self, checkpoint: RunCheckpoint) -> int:
        """Store ``checkpoint`` if nobody wrote since our last load or save; return its version.

        Raises:
            VersionConflict: another process wrote this run's checkpoint meanwhile.
            NotSerializableError: part of a session is not JSON (its path is named).
        """
        self.version = await self.store.save(
            self.key, checkpoint.model_dump(mode="json"), expected_version=self.version
        )
        return self.version
