"""Each role's final answer in the shared StateStore: what a killed smolagents run resumes from.

smolagents keeps an agent's memory (``agent.memory``: its steps) in the process only. It can
write the steps out (``AgentMemory.get_full_steps()``) but has no API to load them back into an
agent, so a run cannot resume inside a role. It resumes at role granularity instead: as each
role's agent answers, the adapter saves the answer here, then hands it over on the bus and
records the handoff message's id in the same document::

    runs/{run_id}/smolagents/roles/0   {"index": 0, "role": "monitor", "answer": "...",
                                        "steps": 3, "handoff_id": "..."}
    runs/{run_id}/smolagents/roles/1   the diagnostician's
    runs/{run_id}/smolagents/roles/2   the operator's (no handoff: it is the last role)

A resumed run skips the roles answered here and hands over an answer whose handoff id was never
recorded. A role cut short runs again from its task; the plant's idempotency ledger, keyed by
the model's tool-call ids, answers the calls it had already made without acting twice. This
module knows nothing of smolagents, so it imports without the extra.
"""

from __future__ import annotations

from pydantic import Field

from agentrig.adapters._role_documents import RoleDocument, RoleDocuments
from agentrig.core.state.base import StateStore

__all__ = ["RoleAnswerStore", "SavedAnswer", "role_answers_prefix"]


def role_answers_prefix(run_id: str) -> str:
    """The key prefix under which a run's smolagents role answers live."""
    return f"runs/{run_id}/smolagents/roles/"


class SavedAnswer(RoleDocument):
    """One role's finished agent run.

    Attributes:
        index: the role's position (0 monitor, 1 diagnostician, 2 operator).
        role: the role.
        answer: its final answer.
        steps: how many memory steps (model turns) its agent took.
        handoff_id: the id of the handoff message sent on the bus, once it was.
    """

    answer: str
    steps: int = Field(ge=0)


class RoleAnswerStore(RoleDocuments[SavedAnswer]):
    """Save and load one run's role answers (see the module docstring for the keys)."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        super().__init__(
            store,
            run_id,
            role_answers_prefix(run_id),
            SavedAnswer,
            "smolagents role answer",
            "role",
        )
