"""An in-process state store: the test double users and tests share, and ``memory://``.

Documents are kept as encoded JSON text, so a caller mutating a dict after ``save`` or after
``load`` never changes what is stored, exactly as with the durable backends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_document,
    encode_document,
    validate_key,
)
from agentrig.exceptions import CorruptStateError, VersionConflict

__all__ = ["MemoryStateStore"]


class MemoryStateStore(StateStoreBase):
    """Versioned JSON documents in a dict; lost when the process ends.

    Every method completes without awaiting anything in between its read and its write, so
    compare-and-set is atomic for all tasks of one event loop. It is not shared between threads.
    """

    def __init__(self) -> None:
        self._documents: dict[str, tuple[str, int]] = {}

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemoryStateStore:
        """Build from ``memory://`` (each call is a new, empty store)."""
        return cls()

    async def load(self, key: str) -> Versioned | None:
        validate_key(key)
        stored = self._documents.get(key)
        if stored is None:
            return None
        text, version = stored
        try:
            return Versioned(decode_document(text), version)
        except ValueError as error:  # only reachable through put_raw
            raise CorruptStateError(key, "memory://", str(error)) from error

    async def save(
        self,
        key: str,
        state: Mapping[str, Any] | BaseModel,
        expected_version: int | None = None,
    ) -> int:
        validate_key(key)
        text = encode_document(key, state)
        current = self._documents.get(key, ("", 0))[1]
        if expected_version is not None and expected_version != current:
            raise VersionConflict(key, expected_version, current)
        self._documents[key] = (text, current + 1)
        return current + 1

    async def delete(self, key: str) -> bool:
        validate_key(key)
        return self._documents.pop(key, None) is not None

    async def keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self._documents if key.startswith(prefix))

    def put_raw(self, key: str, text: str) -> None:
        """Store raw text under ``key``, bypassing validation: for corrupt-data tests only."""
        current = self._documents.get(key, ("", 0))[1]
        self._documents[key] = (text, current + 1)
