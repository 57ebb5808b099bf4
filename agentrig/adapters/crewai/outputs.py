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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError

__all__ = ["SavedTaskOutput", "TaskOutputStore", "task_outputs_prefix"]


def task_outputs_prefix(run_id: str) -> str:
    """The key prefix under which a run's CrewAI task outputs live."""
    return f"runs/{run_id}/crewai/tasks/"


class SavedTaskOutput(BaseModel):
    """One completed task of the crew.

    Attributes:
        index: the task's position in the crew (0 monitor, 1 diagnostician, 2 operator).
        role: the role whose agent did the task.
        task_name: the CrewAI task's name.
        output: the task's raw output -- the role's final answer.
        handoff_id: the id of the handoff message mirrored onto the bus, once it was.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0, lt=len(ROLES))
    role: Role
    task_name: str
    output: str
    handoff_id: str | None = None


class TaskOutputStore:
    """Save and load one run's task outputs (see the module docstring for the keys)."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.prefix = task_outputs_prefix(run_id)

    def key(self, index: int) -> str:
        return f"{self.prefix}{index}"

    async def save(self, saved: SavedTaskOutput) -> None:
        await self.store.save(self.key(saved.index), saved)

    async def load_all(self) -> list[SavedTaskOutput]:
        """The saved outputs, in task order.

        Raises:
            AdapterError: a document under the prefix is not a task output, or the outputs do
                not cover a prefix of the tasks (monitor first); the message names the key.
        """
        saved: list[SavedTaskOutput] = []
        for key in await self.store.keys(self.prefix):
            loaded = await self.store.load(key)
            if loaded is None:  # deleted between keys() and load()
                continue
            try:
                output = SavedTaskOutput.model_validate(loaded.state)
            except ValidationError as error:
                raise AdapterError(
                    f"{key} is not a CrewAI task output agentrig wrote ({error.error_count()} "
                    f"problems, first: {error.errors()[0]['msg']}); delete it to re-run that task"
                ) from error
            if key != self.key(output.index) or ROLES[output.index] != output.role:
                raise AdapterError(
                    f"{key} holds task {output.index} ({output.role}), which does not belong "
                    f"there; delete {self.prefix}* to run the crew from the start"
                )
            saved.append(output)
        saved.sort(key=lambda output: output.index)
        indices = [output.index for output in saved]
        if indices != list(range(len(saved))):
            raise AdapterError(
                f"the saved CrewAI task outputs of run {self.run_id} are tasks {indices}, not "
                f"the first tasks in order; delete {self.prefix}* to run the crew from the start"
            )
        return saved
