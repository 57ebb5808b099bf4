"""The embedded default state store: one SQLite file, ``sqlite:///relative/path`` or
``sqlite:////absolute/path``.

The database runs in WAL mode (readers never wait for the writer) with a busy timeout, so
several processes can share one file. A save is one ``BEGIN IMMEDIATE`` transaction -- read the
stored version, compare, write -- which makes compare-and-set atomic across processes.

The stdlib ``sqlite3`` module blocks, so every store owns one worker thread holding its one
connection; coroutines hand their statements to it and never block the event loop. Tasks of one
store are thereby serialised, which SQLite's single writer would impose anyway. The worker takes
every request waiting in its queue at once and hands the results back in one event-loop callback:
with 32 concurrent tasks that is several times faster than a ThreadPoolExecutor round trip per
call, which pays a thread wake-up and a GIL hand-over for each.

``synchronous=NORMAL`` (the WAL default) survives a killed process; a power cut can lose the last
commits but never corrupts the file. ``?synchronous=full`` trades speed for power-cut durability.
A row whose document is not a JSON object is reported with :class:`CorruptStateError` naming the
key and the database file, and stays as it is: ``save`` refuses to replace it.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args
from urllib.parse import unquote, urlsplit

import structlog

from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_stored_document,
    pop_url_option,
)
from agentrig.exceptions import ConfigurationError, CorruptStateError, VersionConflict

__all__ = ["SqliteStateStore", "Synchronous"]

Synchronous = Literal["normal", "full"]
_Result = TypeVar("_Result")

log = structlog.get_logger(__name__)

TABLE = "agentrig_state"
# The table name is spelled out in each statement: SQL built from strings invites injection.
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS agentrig_state (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    document TEXT NOT NULL
) WITHOUT ROWID
"""
_SELECT = "SELECT version, document FROM agentrig_state WHERE key = ?"
_DELETE = "DELETE FROM agentrig_state WHERE key = ?"
_KEYS_FROM = "SELECT key FROM agentrig_state WHERE key >= ? ORDER BY key"
_UPSERT = """
INSERT INTO agentrig_state (key, version, document) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET version = excluded.version, document = excluded.document
"""


_Request = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]
]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
_STOP = None  # queued by stop(): the thread exits after the requests before it


def _deliver(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():  # the caller gave up; the statement ran regardless
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class _Worker:
    """One thread running submitted calls in order, in batches (see the module docstring)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, function: Callable[..., _Result], *args: Any) -> asyncio.Future[_Result]:
        if self._thread is None:
            # A daemon: a store nobody closed must not keep the interpreter alive; SQLite's
            # transactions make an interrupted write harmless.
            self._thread = threading.Thread(target=self._serve, name="agentrig-sqlite", daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Result] = loop.create_future()
        self._requests.put((loop, future, function, args))
        return future

    @property
    def started(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        if self._thread is not None:
            self._requests.put(_STOP)

    def _serve(self) -> None:
        while True:
            batch = [self._requests.get()]
            while True:
                try:
                    batch.append(self._requests.get_nowait())
                except queue.Empty:
                    break
            per_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
            for request in batch:
                if request is _STOP:
                    self._hand_back(per_loop)
                    return
                loop, future, function, args = request
                try:
                    outcome: _Outcome = (future, function(*args), None)
                except Exception as error:  # noqa: BLE001 -- handed to the awaiting caller
                    outcome = (future, None, error)
                per_loop.setdefault(loop, []).append(outcome)
            self._hand_back(per_loop)

    @staticmethod
    def _hand_back(per_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]]) -> None:
        for loop, outcomes in per_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, outcomes)
            except RuntimeError:
                # The loop is closed: nobody is left to await these results.
                log.debug("sqlite results dropped: their event loop is closed", count=len(outcomes))


class SqliteStateStore(StateStoreBase):
    """Versioned JSON documents in a SQLite table, safe for several processes.

    Args:
        path: the database file; its folder is created on first use.
        busy_timeout: seconds a statement waits for another process's write lock.
        synchronous: ``"normal"`` (survives a crashed process) or ``"full"`` (survives a power
            cut, slower).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "normal",
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self._connection: sqlite3.Connection | None = None
        # One thread per store: sqlite3 connections belong to the thread that opened them.
        self._worker = _Worker()

    @classmethod
    def from_url(cls, url: str) -> SqliteStateStore:
        """Build from ``sqlite:///relative/path`` or ``sqlite:////absolute/path``.

        ``?synchronous=full`` asks for power-cut durability (see the module docstring).

        Raises:
            ConfigurationError: no path, a host, or an unknown ``synchronous`` value.
        """
        url, synchronous = pop_url_option(url, "synchronous")
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            raise ConfigurationError(
                f"SQLite URL {url!r} must be sqlite:///relative/path or sqlite:////absolute/path"
            )
        if parts.query:
            raise ConfigurationError(
                f"SQLite URL {url!r}: unknown option(s) {parts.query!r}; only synchronous="
            )
        if parts.path[1:] == ":memory:":
            raise ConfigurationError(
                f"SQLite URL {url!r}: an in-memory database would be private to one connection; "
                "use memory:// for an in-process store"
            )
        mode = (synchronous or "normal").lower()
        if mode not in get_args(Synchronous):
            raise ConfigurationError(
                f"SQLite URL {url!r}: synchronous must be 'normal' or 'full', not {synchronous!r}"
            )
        # Three slashes leave "/relative"; four leave "//absolute".
        return cls(unquote(parts.path[1:]), synchronous=cast("Synchronous", mode))

    @property
    def location(self) -> str:
        return f"table {TABLE} in {self.path}"

    def location_of(self, key: str) -> str:
        return self.location

    async def _load(self, key: str) -> Versioned | None:
        return await self._run(self._load_sync, key)

    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        return await self._run(self._save_sync, key, text, expected_version)

    async def _delete(self, key: str) -> bool:
        return await self._run(self._delete_sync, key)

    async def _keys(self, prefix: str) -> list[str]:
        return await self._run(self._keys_sync, prefix)

    async def close(self) -> None:
        if self._closed:
            return
        await super().close()  # refuse new calls; those already queued run first
        if self._worker.started:
            await self._run(self._close_sync)
            self._worker.stop()

    async def _run(self, function: Callable[..., _Result], *args: Any) -> _Result:
        return await self._worker.submit(function, *args)

    # ------------------------------------------------------------ blocking parts (worker thread)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; saves issue BEGIN IMMEDIATE themselves.
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            self._enable_wal(connection)
            connection.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            connection.execute(_CREATE_TABLE)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _enable_wal(self, connection: sqlite3.Connection) -> None:
        # Switching a new database to WAL needs an exclusive lock and, unlike ordinary
        # statements, reports "database is locked" at once instead of using the busy handler:
        # processes opening the same new file together must take turns by hand.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
                continue
            if mode != "wal":
                log.warning(
                    "SQLite refused WAL mode; using its own", path=str(self.path), mode=mode
                )
            return

    def _check_row(self, key: str, version: Any, document: Any) -> Versioned:
        if type(version) is not int or version < 1:
            raise CorruptStateError(key, self.location, f"version is {version!r}, not an int >= 1")
        if not isinstance(document, (str, bytes)):
            raise CorruptStateError(
                key, self.location, f"document is a {type(document).__name__}, not JSON text"
            )
        return Versioned(decode_stored_document(key, self.location, document), version)

    def _load_sync(self, key: str) -> Versioned | None:
        row = self._connect().execute(_SELECT, (key,)).fetchone()
        return None if row is None else self._check_row(key, *row)

    def _save_sync(self, key: str, text: str, expected_version: int | None) -> int:
        connection = self._connect()
        # IMMEDIATE takes the write lock before reading, so no other process can slip a write
        # between our version check and our update.
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(_SELECT, (key,)).fetchone()
            # A corrupt row raises here, before anything is written: it is never replaced.
            current = 0 if row is None else self._check_row(key, *row).version
            if expected_version is not None and expected_version != current:
                raise VersionConflict(key, expected_version, current)
            connection.execute(_UPSERT, (key, current + 1, text))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite may already have rolled back (disk full)
                connection.execute("ROLLBACK")
            raise
        return current + 1

    def _delete_sync(self, key: str) -> bool:
        cursor = self._connect().execute(_DELETE, (key,))
        return cursor.rowcount > 0

    def _keys_sync(self, prefix: str) -> list[str]:
        # BINARY collation orders by UTF-8 bytes, i.e. by code point: the keys starting with
        # `prefix` are one contiguous run from `prefix` on, found through the primary key.
        cursor = self._connect().execute(_KEYS_FROM, (prefix,))
        found: list[str] = []
        for (key,) in cursor:
            if not key.startswith(prefix):
                break
            found.append(key)
        return found

    def _close_sync(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
