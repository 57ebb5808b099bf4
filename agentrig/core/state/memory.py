"""An in-process state store: the test double users and tests share, and ``memory://``.

Documents are kept as encoded JSON text, so a caller mutating a dict after ``save`` or after
``load`` never changes what is stored, exactly as with the durable backends.
"""

from __future__ import annotations

from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_stored_document,
)
from agentrig.exceptions import VersionConflict

__all__ = ["MemoryStateStore"]

_LOCATION = "memory://"


class MemoryStateStore(StateStoreBase):
    """Versioned JSON documents in a dict; lost when the process ends.

    Every method completes without awaiting anything in between its read and its write, so
    compare-and-set is atomic for all tasks of one event loop. It is not shared between threads.
    """

    def __init__(self) -> None:
        self._documents: dict[str, tuple[str, int]] = {}
        # Only put_raw can store text that save did not encode; those keys are checked on save.
        self._raw_keys: set[str] = set()

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemoryStateStore:
        """Build from ``memory://`` (each call is a new, empty store)."""
        return cls()

    def location_of(self, key: str) -> str:
        return _LOCATION

    async def _load(self, key: str) -> Versioned | None:
        stored = self._documents.get(key)
        if stored is None:
            return None
        text, version = stored
        return Versioned(decode_stored_document(key, _LOCATION, text), version)

    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        stored_text, current = self._documents.get(key, ("", 0))
        if key in self._raw_keys:
            decode_stored_document(key, _LOCATION, stored_text)  # refuses to overwrite garbage
        if expected_version is not None and expected_version != current:
            raise VersionConflict(key, expected_version, current)
        self._documents[key] = (text, current + 1)
        self._raw_keys.discard(key)
        return current + 1

    async def _delete(self, key: str) -> bool:
        self._raw_keys.discard(key)
        return self._documents.pop(key, None) is not None

    async def _keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self._documents if key.startswith(prefix))

    def put_raw(self, key: str, text: str) -> None:
        """Store raw text under ``key``, bypassing validation: for corrupt-data tests only."""
        current = self._documents.get(key, ("", 0))[1]
        self._documents[key] = (text, current + 1)
        self._raw_keys.add(key)

    def get_raw(self, key: str) -> str | None:
        """The stored text under ``key`` as it is, or None: for corrupt-data tests only."""
        stored = self._documents.get(key)
        return None if stored is None else stored[0]
