"""The StateStore protocol and what every backend shares: key rules and JSON encoding.

A state store keeps JSON documents (JSON objects) under string keys, each with an integer version.
Versions start at 1 on the first save and grow by one on every save. ``save`` with an
``expected_version`` is compare-and-set: it writes only if the stored version equals it (``0``
meaning "the key must not exist yet") and otherwise raises :class:`VersionConflict` without
changing anything. Deleting a key forgets its version: a later save starts again at 1.

Documents are JSON, never pickle: a store is shared infrastructure, and unpickling what someone
else wrote into Redis is code execution.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel

from agentrig.exceptions import InvalidKeyError, NotSerializableError

__all__ = [
    "MAX_KEY_BYTES",
    "JsonObject",
    "StateStore",
    "StateStoreBase",
    "Versioned",
    "decode_document",
    "encode_document",
    "validate_key",
]

JsonObject = dict[str, Any]
"""A JSON object as Python sees it: str keys; values str, int, float, bool, None, list or dict."""

MAX_KEY_BYTES = 512
"""Longest key, in UTF-8 bytes. Long enough for ``runs/<uuid>/plant/<device>``-style paths."""


@dataclass(frozen=True, slots=True)
class Versioned:
    """A document as loaded: its JSON object and the version it was stored at."""

    state: JsonObject
    version: int


@runtime_checkable
class StateStore(Protocol):
    """Async key-value store of versioned JSON documents.

    Example -- a minimal in-process implementation (the real one is ``MemoryStateStore``)::

        class DictStore:
            def __init__(self) -> None:
                self._docs: dict[str, tuple[str, int]] = {}

            async def load(self, key: str) -> Versioned | None:
                if key not in self._docs:
                    return None
                text, version = self._docs[key]
                return Versioned(json.loads(text), version)

            async def save(self, key, state, expected_version=None) -> int:
                current = self._docs.get(key, ("", 0))[1]
                if expected_version is not None and expected_version != current:
                    raise VersionConflict(key, expected_version, current)
                self._docs[key] = (encode_document(key, state), current + 1)
                return current + 1

            async def delete(self, key: str) -> bool:
                return self._docs.pop(key, None) is not None

            async def keys(self, prefix: str = "") -> list[str]:
                return sorted(k for k in self._docs if k.startswith(prefix))

            async def close(self) -> None:
                pass
    """

    async def load(self, key: str) -> Versioned | None:
        """Return the document and its version, or None when the key does not exist.

        Raises:
            CorruptStateError: the stored bytes are not a JSON object; they are left in place
                (or moved aside to the location the error names), never overwritten.
        """
        ...

    async def save(
        self,
        key: str,
        state: Mapping[str, Any] | BaseModel,
        expected_version: int | None = None,
    ) -> int:
        """Store ``state`` under ``key`` and return its new version.

        Args:
            key: see :func:`validate_key`.
            state: a JSON object, or a pydantic model (dumped in JSON mode).
            expected_version: None writes unconditionally; 0 requires that the key does not
                exist; N requires that the stored version is N.

        Raises:
            VersionConflict: ``expected_version`` did not match; nothing was written.
            NotSerializableError: part of ``state`` is not JSON; its path is named.
            InvalidKeyError: the key breaks the key rules.
        """
        ...

    async def delete(self, key: str) -> bool:
        """Remove the key; return whether it existed."""
        ...

    async def keys(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, sorted."""
        ...

    async def close(self) -> None:
        """Release connections and files. The store is unusable afterwards."""
        ...


class StateStoreBase:
    """Shared behaviour of the built-in backends: ``async with`` support.

    Backends implement the :class:`StateStore` methods and call :func:`validate_key` and
    :func:`encode_document` / :func:`decode_document` so that every backend agrees on the rules.
    """

    async def close(self) -> None:
        """Release resources; backends with connections override this."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def validate_key(key: str) -> str:
    """Check a key against the rules every backend enforces, and return it.

    A key is a non-empty string of at most :data:`MAX_KEY_BYTES` UTF-8 bytes, made of
    ``/``-separated segments; no segment is empty, ``.`` or ``..``; no control characters and no
    backslash. Unicode is welcome. These rules keep ``../x`` from escaping a file store's folder
    and keep keys portable between backends.

    Raises:
        InvalidKeyError: naming the rule that was broken.
    """
    if not isinstance(key, str):
        raise InvalidKeyError(repr(key), f"a key must be a str, not {type(key).__name__}")
    if not key:
        raise InvalidKeyError(key, "a key must not be empty")
    size = len(key.encode("utf-8", errors="surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise InvalidKeyError(
            key[:40] + "...", f"a key is at most {MAX_KEY_BYTES} UTF-8 bytes; this one is {size}"
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidKeyError(key, "control characters are not allowed in keys")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in key):
        raise InvalidKeyError(key, "lone surrogates are not valid unicode")
    if "\\" in key:
        raise InvalidKeyError(key, "backslashes are not allowed in keys; use '/' to nest")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(
                key, "a key is '/'-separated segments, none empty, '.' or '..' (no escaping)"
            )
    return key


def _first_non_json(value: Any, path: str) -> tuple[str, str] | None:
    """Find the first part of ``value`` that JSON cannot hold: (path, type name)."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"non-finite float ({value})")
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                return (f"{path} (key {name!r})", f"{type(name).__name__} dict key")
            found = _first_non_json(item, f"{path}.{name}")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _first_non_json(item, f"{path}[{index}]")
            if found:
                return found
        return None
    return (path, type(value).__name__)


def encode_document(key: str, state: Mapping[str, Any] | BaseModel) -> str:
    """Encode a document as compact JSON text, refusing anything JSON cannot represent.

    Raises:
        NotSerializableError: naming the path of the first offending value (``$.a.b[2]``).
    """
    if isinstance(state, BaseModel):
        state = state.model_dump(mode="json")
    if not isinstance(state, Mapping):
        raise NotSerializableError(
            key, "$", f"{type(state).__name__} (a document is a JSON object)"
        )
    found = _first_non_json(state, "$")
    if found:
        raise NotSerializableError(key, found[0], found[1])
    return json.dumps(state, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def decode_document(text: str | bytes) -> JsonObject:
    """Decode stored JSON text into a document.

    Raises:
        ValueError: the text is not JSON or not a JSON object; backends turn this into a
            :class:`CorruptStateError` naming the key and where the data lies.
    """
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object, found {type(document).__name__}")
    return document
