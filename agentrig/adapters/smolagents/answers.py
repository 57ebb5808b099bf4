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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError

__all__ = ["RoleAnswerStore", "SavedAnswer", "role_answers_prefix"]


def role_answers_prefix(run_id: str) -> str:
    """The key prefix under which a run's smolagents role answers live."""
    return f"runs/{run_id}/smolagents/roles/"


class SavedAnswer(BaseModel):
    """One role's finished agent run.

    Attributes:
        index: the role's position (0 monitor, 1 diagnostician, 2 operator).
        role: the role.
        answer: its final answer.
        steps: how many memory steps (model turns) its agent took.
        handoff_id: the id of the handoff message sent on the bus, once it was.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0, lt=len(ROLES))
    role: Role
    answer: str
    steps: int = Field(ge=0)
    handoff_id: str | None = None


class RoleAnswerStore:
    """Save and load one run's role answers (see the module docstring for the keys)."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.prefix = role_answers_prefix(run_id)

    def key(self, index: int) -> str:
        return f"{self.prefix}{index}"

    async def save(self, saved: SavedAnswer) -> None:
        await self.store.save(self.key(saved.index), saved)

    async def load_all(self) -> list[SavedAnswer]:
        """The saved answers, in role order.

        Raises:
            AdapterError: a document under the prefix is not a role answer, or the answers do
                not cover a prefix of the roles (monitor first); the message names the key.
        """
        saved: list[SavedAnswer] = []
        for key in await self.store.keys(self.prefix):
            loaded = await self.store.load(key)
            if loaded is None:  # deleted between keys() and load()
                continue
            try:
                answer = SavedAnswer.model_validate(loaded.state)
            except ValidationError as error:
                raise AdapterError(
                    f"{key} is not a smolagents role answer agentrig wrote "
                    f"({error.error_count()} problems, first: {error.errors()[0]['msg']}); "
                    "delete it to run that role again"
                ) from error
            if key != self.key(answer.index) or ROLES[answer.index] != answer.role:
                raise AdapterError(
                    f"{key} holds role {answer.index} ({answer.role}), which does not belong "
                    f"there; delete {self.prefix}* to run the roles from the start"
                )
            saved.append(answer)
        saved.sort(key=lambda answer: answer.index)
        indices = [answer.index for answer in saved]
        if indices != list(range(len(saved))):
            raise AdapterError(
                f"the saved smolagents answers of run {self.run_id} are roles {indices}, not "
                f"the first roles in order; delete {self.prefix}* to run the roles from the start"
            )
        return saved
