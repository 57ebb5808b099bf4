"""One pydantic document under one StateStore key, loaded and saved compare-and-set.

An adapter that resumes a killed run keeps what it needs (a team's state, sessions, a message
history) as one document per run or per role. :class:`VersionedDocument` is that document's
load/save written once: loading validates it against the adapter's model and refuses, with the
key and the first problem, a document the adapter cannot resume from; saving writes only if
nobody wrote since this process last read or wrote it, so two processes resuming the same run
cannot both write: the second gets :class:`~agentrig.exceptions.VersionConflict` and nothing
is overwritten. Example::

    checkpoints = VersionedDocument(store, f"runs/{run_id}/myframework/team", TeamCheckpoint,
                                    "MyFramework checkpoint")
    checkpoint = await checkpoints.load()  # None on a fresh run
    ...
    await checkpoints.save(TeamCheckpoint(...))  # after every finished step
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from agentrig.core.state.base import StateStore
from agentrig.exceptions import AdapterError

__all__ = ["VersionedDocument", "unresumable_document"]

ModelT = TypeVar("ModelT", bound=BaseModel)


def unresumable_document(
    label: str, key: str, version: int, error: ValidationError, start_over: str
) -> AdapterError:
    """The error for a stored document that fails validation: what, where, and what to do.

    Args:
        label: what the document is, for a person ("AutoGen checkpoint").
        key: the key it is stored under.
        version: the version it was loaded at.
        error: what validating it found.
        start_over: what deleting the key does ("start the run over").
    """
    first = error.errors()[0]
    return AdapterError(
        f"the {label} under {key!r} (version {version}) cannot be resumed: "
        f"{error.error_count()} problem(s), first: {first['msg']} at "
        f"{'.'.join(str(part) for part in first['loc'])}. It is left in place; delete the key "
        f"to {start_over}, or use a new run id"
    )


@dataclass(eq=False)
class VersionedDocument(Generic[ModelT]):
    """Loads and saves one ``model`` document under ``key``, each save compare-and-set.

    Attributes:
        store: where the document lives.
        key: its StateStore key.
        model: the pydantic model it must validate as.
        label: what it is, for error messages ("AutoGen checkpoint").
        start_over: what deleting the key does, for error messages.
        check: further validation of a loaded document, raising ValidationError (a Pydantic AI
            history's messages must parse as Pydantic AI messages); it runs on load only, so
            saving costs no second validation.
        version: the version seen by the last :meth:`load` or :meth:`save`, which the next save
            expects (0 before either, or when the key is absent).
    """

    store: StateStore
    key: str
    model: type[ModelT]
    label: str
    _: KW_ONLY
    start_over: str = "start the run over"
    check: Callable[[ModelT], object] | None = None
    version: int = field(default=0, init=False)

    async def load(self) -> ModelT | None:
        """The stored document, or None when the key does not exist.

        Raises:
            AdapterError: the document does not validate; it is left in place, and the message
                names the key, its version and the first problem.
            CorruptStateError: the stored bytes are not a JSON object (from the store).
        """
        loaded = await self.store.load(self.key)
        if loaded is None:
            self.version = 0
            return None
        try:
            document = self.model.model_validate(loaded.state)
            if self.check is not None:
                self.check(document)
        except ValidationError as error:
            raise unresumable_document(
                self.label, self.key, loaded.version, error, self.start_over
            ) from error
        self.version = loaded.version
        return document

    async def save(self, document: ModelT) -> int:
        """Store ``document`` if nobody wrote since our last load or save; return its version.

        Raises:
            VersionConflict: another process wrote the key meanwhile; nothing was written.
            NotSerializableError: part of the document is not JSON (its path is named).
        """
        self.version = await self.store.save(
            self.key, document.model_dump(mode="json"), expected_version=self.version
        )
        return self.version
