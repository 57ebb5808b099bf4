"""The StateStore protocol and what every backend shares: key rules and JSON encoding.

A state store keeps JSON documents (JSON objects) under string keys, each with an integer version.
Versions start at 1 on the first save and grow by one on every save. ``save`` with an
``expected_version`` is compare-and-set: it writes only if the stored version equals it (``0``
meaning "the key must not exist yet") and otherwise raises :class:`VersionConflict` without
changing anything. Deleting a key forgets its version: a later save starts again at 1.

Stored data that is not a JSON object (someone else wrote garbage into the file, row or hash) is
reported by ``load`` and refused by ``save`` with a :class:`CorruptStateError` naming the key and
where the bytes lie; it is never overwritten. ``delete`` is the deliberate way to discard it.

A Redis or PostgreSQL server that cannot be reached fails the call that needed it with
:class:`~agentrig.exceptions.BackendUnavailableError` naming the server (no password) and the
cause in one line.

Documents are JSON, never pickle: a store is shared infrastructure, and unpickling what someone
else wrote into Redis is code execution.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, NoReturn, Protocol, Self, runtime_checkable
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel

from agentrig.core.backends import AsyncClosing
from agentrig.exceptions import CorruptStateError, InvalidKeyError, NotSerializableError, StateError

__all__ = [
    "MAX_KEY_BYTES",
    "JsonObject",
    "StateStore",
    "StateStoreBase",
    "Versioned",
    "decode_document",
    "decode_stored_document",
    "encode_document",
    "pop_url_option",
    "store_location",
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

            async def __aenter__(self) -> Self:
                return self

            async def __aexit__(self, *exc_info: object) -> None:
                await self.close()

    (Subclassing :class:`StateStoreBase` instead gives the key rules, encoding, ``close`` and
    ``async with`` for free: a backend then writes only the four hooks.)
    """

    async def load(self, key: str) -> Versioned | None:
        """Return the document and its version, or None when the key does not exist.

        Raises:
            CorruptStateError: the stored bytes are not a JSON object; they are left in place,
                at the location the error names, never overwritten.
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
            CorruptStateError: what is stored under ``key`` is corrupt; nothing was written, so
                the evidence stays where the error says (``delete`` discards it on purpose).
            NotSerializableError: part of ``state`` is not JSON; its path is named.
            InvalidKeyError: the key breaks the key rules.
        """
        ...

    async def delete(self, key: str) -> bool:
        """Remove the key, whatever it holds (corrupt data too); return whether it existed."""
        ...

    async def keys(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, sorted."""
        ...

    async def close(self) -> None:
        """Release connections and files. The store is unusable afterwards."""
        ...

    async def __aenter__(self) -> Self:
        """``async with open_state_store(url) as store:`` closes the store on the way out."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class StateStoreBase(AsyncClosing, ABC):
    """The rules every built-in backend obeys, written once: a backend implements only hooks.

    The public methods are template methods. Each refuses a closed store, checks the key with
    :func:`validate_key` and, for ``save``, encodes the document with :func:`encode_document`;
    only then does it call the backend's hook with a valid key (and the JSON text)::

        class DictStore(StateStoreBase):
            def __init__(self) -> None:
                self._docs: dict[str, tuple[str, int]] = {}

            async def _load(self, key: str) -> Versioned | None:
                if key not in self._docs:
                    return None
                text, version = self._docs[key]
                return Versioned(decode_stored_document(key, "a dict", text), version)

            async def _save_encoded(self, key, text, expected_version) -> int:
                current = self._docs.get(key, ("", 0))[1]
                if expected_version is not None and expected_version != current:
                    raise VersionConflict(key, expected_version, current)
                self._docs[key] = (text, current + 1)
                return current + 1

            async def _delete(self, key: str) -> bool:
                return self._docs.pop(key, None) is not None

            async def _keys(self, prefix: str) -> list[str]:
                return sorted(k for k in self._docs if k.startswith(prefix))

    A backend cannot skip the rules: a class that implements the hooks and also overrides
    ``load``, ``save``, ``delete`` or ``keys`` is refused when it is defined. A wrapper that
    subclasses a finished store to add behaviour (a test double injecting delays or faults)
    may override them and delegate to ``super()``, where the rules still run. A backend's
    ``close`` releases its own resources and then calls ``super().close()``.
    """

    _closed: bool = False
    _TEMPLATE_METHODS: ClassVar[tuple[str, ...]] = ("load", "save", "delete", "keys")
    _HOOKS: ClassVar[tuple[str, ...]] = ("_load", "_save_encoded", "_delete", "_keys")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        overridden = [name for name in cls._TEMPLATE_METHODS if name in own]
        if overridden and any(hook in own for hook in cls._HOOKS):
            # Raised at class definition, so a backend that skips the rules never ships.
            raise TypeError(
                f"{cls.__name__} implements StateStoreBase hooks but overrides "
                f"{', '.join(overridden)}, which would skip the open check, key validation and "
                "encoding; implement only _load / _save_encoded / _delete / _keys"
            )

    async def load(self, key: str) -> Versioned | None:
        """See :meth:`StateStore.load`."""
        self._ensure_open()
        return await self._load(validate_key(key))

    async def save(
        self,
        key: str,
        state: Mapping[str, Any] | BaseModel,
        expected_version: int | None = None,
    ) -> int:
        """See :meth:`StateStore.save`."""
        self._ensure_open()
        text = encode_document(validate_key(key), state)
        return await self._save_encoded(key, text, expected_version)

    async def delete(self, key: str) -> bool:
        """See :meth:`StateStore.delete`."""
        self._ensure_open()
        return await self._delete(validate_key(key))

    async def keys(self, prefix: str = "") -> list[str]:
        """See :meth:`StateStore.keys`."""
        self._ensure_open()
        return await self._keys(prefix)

    async def close(self) -> None:
        """Mark the store closed; backends with connections release them first."""
        self._closed = True

    def location_of(self, key: str) -> str:
        """Where ``key``'s document lies, for error messages (no password); backends refine it."""
        return type(self).__name__

    @abstractmethod
    async def _load(self, key: str) -> Versioned | None:
        """The document under a valid ``key``, or None; CorruptStateError for garbage."""

    @abstractmethod
    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        """Store ``text`` (a JSON object as :func:`encode_document` wrote it) under a valid
        ``key`` with compare-and-set as :meth:`StateStore.save` describes; return the version."""

    @abstractmethod
    async def _delete(self, key: str) -> bool:
        """Remove a valid ``key``, whatever it holds; return whether it existed."""

    @abstractmethod
    async def _keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``, sorted by code point."""

    def _ensure_open(self) -> None:
        if self._closed:
            raise StateError(
                f"this {type(self).__name__} is closed; open a new store to keep using it"
            )


def store_location(store: StateStore, key: str) -> str:
    """Where ``store`` keeps ``key``, for error messages: the backend's own words when it is
    built on :class:`StateStoreBase`, else the store's class name."""
    if isinstance(store, StateStoreBase):
        return store.location_of(key)
    return type(store).__name__


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
    # Every check runs on every call of every backend: cheap tests first, details on failure.
    if len(key) > MAX_KEY_BYTES // 4:  # shorter keys cannot exceed the limit
        size = len(key.encode("utf-8", errors="surrogatepass"))
        if size > MAX_KEY_BYTES:
            raise InvalidKeyError(
                key[:40] + "...",
                f"a key is at most {MAX_KEY_BYTES} UTF-8 bytes; this one is {size}",
            )
    forbidden = _FORBIDDEN_IN_KEYS.search(key)
    if forbidden:
        char = forbidden.group()
        if char == "\\":
            raise InvalidKeyError(key, "backslashes are not allowed in keys; use '/' to nest")
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise InvalidKeyError(key, "lone surrogates are not valid unicode")
        raise InvalidKeyError(key, "control characters are not allowed in keys")
    if "." in key or "//" in key or key[0] == "/" or key[-1] == "/":
        for segment in key.split("/"):
            if segment in ("", ".", ".."):
                raise InvalidKeyError(
                    key, "a key is '/'-separated segments, none empty, '.' or '..' (no escaping)"
                )
    return key


# Control characters, DEL, backslash and lone surrogates.
_FORBIDDEN_IN_KEYS = re.compile(r"[\x00-\x1f\x7f\\\ud800-\udfff]")
_SCALARS = (str, int, bool, type(None))  # bool is an int, listed for the reader


def _first_non_json(value: Any) -> tuple[list[str], str] | None:
    """Find the first part of ``value`` that JSON cannot hold.

    Returns:
        None, or the path to it as reversed parts (``["[1]", ".b", ".a"]`` for ``$.a.b[1]``;
        built only on the way back, so a valid document costs no string formatting) and the
        name of its type.
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else ([], f"non-finite float ({value})")
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                return ([f" (key {name!r})"], f"{type(name).__name__} dict key")
            if isinstance(item, _SCALARS):
                continue
            found = _first_non_json(item)
            if found:
                found[0].append(f".{name}")
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if isinstance(item, _SCALARS):
                continue
            found = _first_non_json(item)
            if found:
                found[0].append(f"[{index}]")
                return found
        return None
    if isinstance(value, _SCALARS):
        return None
    return ([], type(value).__name__)


def encode_document(key: str, state: Mapping[str, Any] | BaseModel) -> str:
    """Encode a document as compact JSON text, refusing anything JSON cannot represent.

    Raises:
        NotSerializableError: naming the path of the first offending value (``$.a.b[2]``).
    """
    # A model dumped in JSON mode holds only JSON types and string keys: the encoder itself
    # refuses what is left (a non-finite float), and the walk then names its path. Any other
    # mapping is walked first, as the encoder would turn a non-string key into a string.
    from_model = isinstance(state, BaseModel)
    if isinstance(state, BaseModel):
        state = state.model_dump(mode="json")
    if not isinstance(state, Mapping):
        raise NotSerializableError(
            key, "$", f"{type(state).__name__} (a document is a JSON object)"
        )
    if not from_model:
        _refuse_non_json(key, state)
    try:
        text = _ENCODER.encode(state)
    except (TypeError, ValueError):
        _refuse_non_json(key, state)
        raise
    try:
        # Every backend stores UTF-8; a lone surrogate (from a surrogateescape'd file name, say)
        # would otherwise fail later, inside a backend, without a path.
        text.encode("utf-8")
    except UnicodeEncodeError:
        path = _first_lone_surrogate(state, "$") or "$"
        raise NotSerializableError(
            key, path, "str with a lone surrogate (not valid unicode)"
        ) from None
    return text


def _refuse_non_json(key: str, state: Mapping[str, Any]) -> None:
    found = _first_non_json(state)
    if found:
        reversed_path, type_name = found
        raise NotSerializableError(key, "$" + "".join(reversed(reversed_path)), type_name)


def _has_lone_surrogate(text: str) -> bool:
    return not text.isascii() and any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _first_lone_surrogate(value: Any, path: str) -> str | None:
    """Find the path of the first string (value or dict key) that UTF-8 cannot encode."""
    if isinstance(value, str):
        return path if _has_lone_surrogate(value) else None
    if isinstance(value, Mapping):
        for name, item in value.items():
            if _has_lone_surrogate(name):
                return f"{path} (key {name!r})"
            found = _first_lone_surrogate(item, f"{path}.{name}")
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _first_lone_surrogate(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _refuse_constant(name: str) -> NoReturn:
    # Python's json reads NaN and Infinity, but they are not JSON and encode_document never
    # writes them: finding one means someone else wrote the data.
    raise ValueError(f"{name} is not JSON")


# Built once: json.dumps/json.loads with options build a new encoder/decoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def decode_document(text: str | bytes) -> JsonObject:
    """Decode stored JSON text into a document.

    Raises:
        ValueError: the text is not JSON (or not UTF-8, or nested too deeply to read) or not a
            JSON object; backends turn this into a :class:`CorruptStateError` naming the key and
            where the data lies (see :func:`decode_stored_document`).
    """
    try:
        # Stored text is UTF-8; json.loads would otherwise guess UTF-16/32 from the bytes.
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        document = _DECODER.decode(text)
    except RecursionError as error:
        raise ValueError("the JSON is nested too deeply to read") from error
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object, found {type(document).__name__}")
    return document


def decode_stored_document(key: str, location: str, text: str | bytes) -> JsonObject:
    """Decode a document a backend has read, or report it as corrupt.

    Args:
        key: the key the document was read under.
        location: where the bytes lie, for a person to go and look (a file path, a database
            table, a Redis key).
        text: the stored JSON text.

    Raises:
        CorruptStateError: naming ``key``, ``location`` and what is wrong with the text.
    """
    try:
        return decode_document(text)
    except ValueError as error:
        raise CorruptStateError(key, location, str(error)) from error


def pop_url_option(url: str, name: str) -> tuple[str, str | None]:
    """Split an agentrig option (``?prefix=``, ``?schema=``) off a URL meant for a client library.

    Returns:
        The URL without the option (other query parameters kept in order) and the option's
        value, or None when absent.
    """
    # Cut the text rather than urlunsplit: it would turn sqlite:////abs into sqlite://abs.
    before_fragment, hash_mark, fragment = url.partition("#")
    base, _, query = before_fragment.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    value = next((item for key, item in pairs if key == name), None)
    rest = urlencode([(key, item) for key, item in pairs if key != name])
    return base + (f"?{rest}" if rest else "") + hash_mark + fragment, value
