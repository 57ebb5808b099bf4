"""CrewAI task outputs in the shared StateStore: what a killed crew resumes from.

The crew runs three sequential tasks (monitor, diagnostician, operator). As each task completes,
the CrewAI adapter saves its output here, then mirrors the handoff onto the bus and records the
handoff message's id in the same document::

    runs/{run_id}/crewai/tasks/0   {"index": 0, "role": "monitor", "task_name": "monitor",
                                    "output": "...ALARM_DEVICE: pump-07...", "handoff_id": "..."}
    runs/{run_id}/crewai/tasks/1   the diagnostician's
    runs/{run_id}/crewai/tasks/2   the operator's (no handoff: it is the last role)

A resumed run loads them, skips the tasks they cover and feeds their outputs to the remaining
tasks as CrewAI context; a handoff whose id was never recorded is mirrored then. This module
knows nothing of CrewAI, so it imports without the extra.
"""

from __future__ import annotations

from agentrig.adapters._role_documents import RoleDocument, RoleDocuments
from agentrig.core.state.base import StateStore

__all__ = ["SavedTaskOutput", "TaskOutputStore", "task_outputs_prefix"]


def task_outputs_prefix(run_id: str) -> str:
    """The key prefix under which a run's CrewAI task outputs live."""
    return f"runs/{run_id}/crewai/tasks/"


class SavedTaskOutput(RoleDocument):
    """One completed task of the crew.

    Attributes:
        index: the task's position in the crew (0 monitor, 1 diagnostician, 2 operator).
        role: the role whose agent did the task.
        task_name: the CrewAI task's name.
        output: the task's raw output -- the role's final answer.
        handoff_id: the id of the handoff message mirrored onto the bus, once it was.
    """

    task_name: str
    output: str


class TaskOutputStore(RoleDocuments[SavedTaskOutput]):
    """Save and load one run's task outputs (see the module docstring for the keys)."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        super().__init__(
            store,
            run_id,
            task_outputs_prefix(run_id),
            SavedTaskOutput,
            "CrewAI task output",
            "task",
        )
