"""A state store on the local file system: one JSON file per key, ``file:///abs/dir``.

Each key becomes a path below the store's folder: its ``/``-separated segments become nested
folders and the last one a ``.json`` file holding ``{"version": N, "state": {...}}``. Segment
names are percent-escaped down to ``a-z 0-9 - _`` (upper case, dots and unicode included), so
that no key can name ``..``, a hidden file, or two keys that a case-insensitive file system
would confuse. A segment whose escaped name is longer than 200 characters is split across
folders whose names end in ``~``; names stay reversible, so ``keys()`` never opens a file.

Writes are atomic: a temporary file in the same folder, fsync, rename over the target, fsync of
the folder. Readers therefore see the old or the new document, never a torn one, and take no
lock. Saves and deletes take an exclusive lock (``filelock``) on one of 1024 lock files under
``.locks/`` chosen by the key's hash, which makes compare-and-set safe across processes.

A file that is not a valid document is reported with :class:`CorruptStateError` naming the key
and the file, and left exactly where it is: ``save`` refuses to replace it; ``delete`` removes it
when asked to.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

from filelock import FileLock, Timeout

from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_stored_document,
    validate_key,
)
from agentrig.exceptions import ConfigurationError, CorruptStateError, StateError, VersionConflict

__all__ = ["FileStateStore", "key_to_path_parts", "path_parts_to_key"]

_SAFE_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
_MAX_NAME_CHARS = 200  # per folder entry; 255 bytes is the usual limit, suffixes need room
_CONTINUED = "~"  # ends the name of a folder holding the next piece of a long segment
_SUFFIX = ".json"
_LOCK_FOLDER = ".locks"  # escaped names never start with '.', so no key can reach it
_LOCK_STRIPES = 1024
_LOCK_TIMEOUT_SECONDS = 30.0
_LOCK_POLL_SECONDS = 0.001  # flock is polled; a long interval would dominate contended CAS


def _escape(segment: str) -> str:
    return "".join(
        chr(byte) if byte in _SAFE_BYTES else f"%{byte:02X}" for byte in segment.encode("utf-8")
    )


def _unescape(name: str) -> str | None:
    """Invert :func:`_escape`, or None when ``name`` is not something it produces."""
    try:
        segment = unquote(name, errors="strict")
    except UnicodeDecodeError:
        return None
    return segment if _escape(segment) == name else None


def _split_name(escaped: str) -> list[str]:
    """Cut an escaped segment into pieces of at most _MAX_NAME_CHARS, never inside a %XX."""
    pieces: list[str] = []
    while len(escaped) > _MAX_NAME_CHARS:
        cut = _MAX_NAME_CHARS
        percent = escaped.rfind("%", cut - 2, cut)
        if percent != -1:
            cut = percent
        pieces.append(escaped[:cut])
        escaped = escaped[cut:]
    pieces.append(escaped)
    return pieces


def key_to_path_parts(key: str) -> list[str]:
    """The folder and file names that hold ``key``, relative to the store's folder.

    Raises:
        InvalidKeyError: the key breaks the key rules.
    """
    return _path_parts(validate_key(key))


def _path_parts(key: str) -> list[str]:
    """:func:`key_to_path_parts` for a key already validated."""
    segments = key.split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        *continued, last = _split_name(_escape(segment))
        parts.extend(piece + _CONTINUED for piece in continued)
        parts.append(last + _SUFFIX if index == len(segments) - 1 else last)
    return parts


def path_parts_to_key(parts: list[str]) -> str | None:
    """Invert :func:`key_to_path_parts`; None for names this store did not write."""
    segments: list[str] = []
    pending = ""
    for index, name in enumerate(parts):
        is_file = index == len(parts) - 1
        if is_file:
            if not name.endswith(_SUFFIX):
                return None
            name = name.removesuffix(_SUFFIX)
        elif name.endswith(_CONTINUED):
            pending += name.removesuffix(_CONTINUED)
            continue
        segment = _unescape(pending + name)
        if not segment:
            return None
        segments.append(segment)
        pending = ""
    return "/".join(segments)


def _fsync_folder(folder: Path) -> None:
    # A rename or a new entry is durable only once the folder itself is flushed.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FileStateStore(StateStoreBase):
    """Versioned JSON documents as files under one folder, safe for several processes.

    Blocking file work runs in the event loop's default thread pool, so callers never block the
    loop. The folder is created on first use.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.root = Path(path).expanduser().absolute()
        self._ready = False

    @classmethod
    def from_url(cls, url: str) -> FileStateStore:
        """Build from ``file:///abs/dir`` (or ``file:relative/dir``); the path is percent-decoded.

        Raises:
            ConfigurationError: the URL names a remote host or no path.
        """
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(
                f"file state store URL {url!r} names host {parts.netloc!r}; use three slashes "
                "for an absolute folder (file:///var/lib/agentrig) or file:relative/folder"
            )
        if not parts.path:
            raise ConfigurationError(f"file state store URL {url!r} has no folder path")
        return cls(unquote(parts.path))

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (it may not exist)."""
        return self.root.joinpath(*key_to_path_parts(key))

    def location_of(self, key: str) -> str:
        return str(self.path_for(key))

    async def _load(self, key: str) -> Versioned | None:
        return await asyncio.to_thread(self._load_sync, key, self._path_for_valid(key))

    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        path = self._path_for_valid(key)
        return await asyncio.to_thread(self._save_sync, key, path, text, expected_version)

    async def _delete(self, key: str) -> bool:
        return await asyncio.to_thread(self._delete_sync, key, self._path_for_valid(key))

    async def _keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._keys_sync, prefix)

    def _path_for_valid(self, key: str) -> Path:
        # The base class has validated the key already; validating twice would cost each call.
        return self.root.joinpath(*_path_parts(key))

    # ------------------------------------------------------------ blocking parts (worker thread)

    def _prepare(self) -> None:
        if self._ready:
            return
        if self.root.exists() and not self.root.is_dir():
            raise ConfigurationError(f"file state store folder {self.root} is not a folder")
        (self.root / _LOCK_FOLDER).mkdir(parents=True, exist_ok=True)
        self._ready = True

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        stripe = int.from_bytes(digest[:4], "big") % _LOCK_STRIPES
        # A fresh FileLock per operation: each opens its own descriptor, so flock excludes
        # threads of this process as well as other processes.
        lock = FileLock(
            self.root / _LOCK_FOLDER / f"{stripe:03x}.lock",
            timeout=_LOCK_TIMEOUT_SECONDS,
            poll_interval=_LOCK_POLL_SECONDS,
        )
        try:
            lock.acquire()
        except Timeout as error:
            raise StateError(
                f"could not lock {key!r} within {_LOCK_TIMEOUT_SECONDS:.0f} s: another process "
                f"holds {lock.lock_file}"
            ) from error
        try:
            yield
        finally:
            lock.release()

    def _read(self, key: str, path: Path) -> Versioned | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError as error:
            raise CorruptStateError(key, str(path), "a folder where a file belongs") from error
        wrapper = decode_stored_document(key, str(path), data)
        version, state = wrapper.get("version"), wrapper.get("state")
        if type(version) is not int or version < 1:
            raise CorruptStateError(key, str(path), f"'version' is {version!r}, not an int >= 1")
        if not isinstance(state, dict):
            raise CorruptStateError(key, str(path), "'state' is missing or not a JSON object")
        return Versioned(state, version)

    def _load_sync(self, key: str, path: Path) -> Versioned | None:
        self._prepare()
        return self._read(key, path)

    def _save_sync(self, key: str, path: Path, text: str, expected_version: int | None) -> int:
        self._prepare()
        with self._locked(key):
            stored = self._read(key, path)  # raises on a corrupt file: never replace it
            current = stored.version if stored else 0
            if expected_version is not None and expected_version != current:
                raise VersionConflict(key, expected_version, current)
            document = f'{{"version":{current + 1},"state":{text}}}'
            self._write_atomically(path, document.encode("utf-8"))
            return current + 1

    def _delete_sync(self, key: str, path: Path) -> bool:
        self._prepare()
        with self._locked(key):
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            _fsync_folder(path.parent)
            return True

    def _write_atomically(self, path: Path, data: bytes) -> None:
        self._make_folders(path.parent)
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(path)
        except BaseException:
            with suppress(FileNotFoundError):
                Path(temporary).unlink()
            raise
        _fsync_folder(path.parent)

    def _make_folders(self, folder: Path) -> None:
        missing: list[Path] = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for new_folder in reversed(missing):
            with suppress(FileExistsError):  # another process made it first: fine
                new_folder.mkdir()
            _fsync_folder(new_folder.parent)

    def _keys_sync(self, prefix: str) -> list[str]:
        self._prepare()
        found: list[str] = []
        self._walk(self.root, [], prefix, found)
        return sorted(key for key in found if key.startswith(prefix))

    def _walk(self, folder: Path, parts: list[str], prefix: str, found: list[str]) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):  # locks and temporary files
                    continue
                if entry.is_file(follow_symlinks=False):
                    key = path_parts_to_key([*parts, entry.name])
                    if key is not None:
                        found.append(key)
                elif entry.is_dir(follow_symlinks=False):
                    below = [*parts, entry.name]
                    if self._may_hold_prefix(below, prefix):
                        self._walk(Path(entry.path), below, prefix, found)

    @staticmethod
    def _may_hold_prefix(parts: list[str], prefix: str) -> bool:
        """Whether keys below these folders can start with ``prefix`` (prunes the walk)."""
        if parts[-1].endswith(_CONTINUED):
            return True  # the segment is not complete yet
        folder_key = path_parts_to_key([*parts[:-1], parts[-1] + _SUFFIX])
        if folder_key is None:
            return False
        folder_key += "/"
        return folder_key.startswith(prefix) or prefix.startswith(folder_key)
