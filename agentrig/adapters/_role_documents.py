"""One document per finished role under a run's key prefix: what role-granular resumes read.

Adapters whose framework cannot resume inside a role (CrewAI, smolagents) save each role's result
as it finishes, then hand it over on the bus and record the handoff message's id in the same
document::

    {prefix}0   the monitor's        {"index": 0, "role": "monitor", ..., "handoff_id": "..."}
    {prefix}1   the diagnostician's
    {prefix}2   the operator's       (no handoff: it is the last role)

A resumed run loads them, skips the roles they cover and hands over a result whose handoff id
was never recorded. Saves are unconditional: recording the handoff id rewrites the document just
saved, and the run record's lease keeps a second process out of a run that is running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrig.core.contract.roles import ROLES, Role
from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError

__all__ = ["RoleDocument", "RoleDocuments"]


class RoleDocument(BaseModel):
    """What every role's document holds; adapters subclass it with the role's result.

    Attributes:
        index: the role's position (0 monitor, 1 diagnostician, 2 operator).
        role: the role.
        handoff_id: the id of the handoff message sent on the bus, once it was.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0, lt=len(ROLES))
    role: Role
    handoff_id: str | None = None


DocumentT = TypeVar("DocumentT", bound=RoleDocument)


@dataclass(eq=False)
class RoleDocuments(Generic[DocumentT]):
    """Save and load one run's role documents (see the module docstring for the keys).

    Attributes:
        store: where the documents live.
        run_id: the run they belong to, for error messages.
        prefix: the key prefix, ending in ``/``.
        model: the documents' model.
        label: what one document is, for error messages ("CrewAI task output").
        unit: what the adapter calls one role's work, for error messages ("task").
    """

    store: StateStore
    run_id: str
    prefix: str
    model: type[DocumentT]
    label: str
    unit: str

    def key(self, index: int) -> str:
        """The key of the document of the role at ``index``."""
        return f"{self.prefix}{index}"

    async def save(self, document: DocumentT) -> None:
        """Store ``document`` under its role's key, over whatever is there."""
        await self.store.save(self.key(document.index), document)

    async def load_all(self) -> list[DocumentT]:
        """The saved documents, in role order.

        Raises:
            AdapterError: a document under the prefix is not one of ours, or sits under another
                role's key, or the documents do not cover a prefix of the roles (monitor
                first); the message names the key, or the prefix to delete.
        """
        start_over = f"delete {self.prefix}* to run the {self.unit}s from the start"
        saved: list[DocumentT] = []
        for key in await self.store.keys(self.prefix):
            loaded = await self.store.load(key)
            if loaded is None:  # deleted between keys() and load()
                continue
            try:
                document = self.model.model_validate(loaded.state)
            except ValidationError as error:
                raise AdapterError(
                    f"{key} is not a {self.label} agentrig wrote ({error.error_count()} "
                    f"problems, first: {error.errors()[0]['msg']}); delete it to run that "
                    f"{self.unit} again"
                ) from error
            if key != self.key(document.index) or ROLES[document.index] != document.role:
                raise AdapterError(
                    f"{key} holds {self.unit} {document.index} ({document.role}), which does "
                    f"not belong there; {start_over}"
                )
            saved.append(document)
        saved.sort(key=lambda document: document.index)
        indices = [document.index for document in saved]
        if indices != list(range(len(saved))):
            raise AdapterError(
                f"the saved {self.label}s of run {self.run_id} are {self.unit}s {indices}, not "
                f"the first {self.unit}s in order; {start_over}"
            )
        return saved
