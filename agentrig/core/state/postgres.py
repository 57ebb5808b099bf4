"""The PostgreSQL state store: ``postgresql://user@host:port/db?schema=agentrig`` (psycopg 3).

Documents live in ``<schema>.agentrig_state (key, version, document)``; the schema and the table
are created on first use. ``document`` is TEXT holding exactly the JSON the store wrote: JSONB
would reorder keys, turn ``1e300`` into an integer and refuse ``\\u0000``, and could not hold the
garbage a corrupt-data report is about. Keys use the "C" collation, so ``keys()`` orders by code
point like every other backend and its ``LIKE`` prefix search can use the primary key.

A save is one transaction: ``SELECT ... FOR UPDATE`` locks the row, the stored document is
checked (a corrupt one is reported with :class:`CorruptStateError` and left alone), the version
compared, then ``UPDATE``; a new key is written with ``INSERT ... ON CONFLICT DO NOTHING`` whose
row count tells whether another client created it first.

A store made from a URL connects once before it opens its pool (and creates the table on that
connection), with libpq's ``connect_timeout`` at 5 s unless the URL sets one. A server that is
down, refuses the login or lacks the database thus fails the first call within seconds with
:class:`BackendUnavailableError` naming the URL (no password) and libpq's reason.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentrig.core.backends import redact_url
from agentrig.core.state.base import (
    StateStoreBase,
    Versioned,
    decode_stored_document,
    pop_url_option,
)
from agentrig.exceptions import (
    BackendUnavailableError,
    ConfigurationError,
    CorruptStateError,
    MissingExtraError,
    VersionConflict,
)

try:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import TupleRow
    from psycopg_pool import AsyncConnectionPool
except ImportError as error:
    raise MissingExtraError("the PostgreSQL state store", "postgres") from error

__all__ = ["DEFAULT_CONNECT_TIMEOUT_SECONDS", "DEFAULT_SCHEMA", "PostgresStateStore"]

DEFAULT_SCHEMA = "agentrig"
TABLE = "agentrig_state"
_MAX_IDENTIFIER_BYTES = 63  # PostgreSQL truncates longer names silently
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5
"""libpq's ``connect_timeout`` unless the URL sets one: a silent host fails in seconds, not the
operating system's two minutes."""

Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


def _failure_reason(error: psycopg.OperationalError) -> str:
    """libpq's cause in one line: 'database "x" does not exist', 'Connection refused'.

    libpq writes ``connection to server at "h", port 1 failed: <cause>`` per address tried,
    with hints on further lines; the cause of the first attempt is the one to act on.
    """
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    cause = lines[0].rpartition(" failed: ")[2]
    return " ".join(cause.removeprefix("FATAL:").split())


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching ``prefix`` literally, then anything (escape character ``\\``)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class PostgresStateStore(StateStoreBase):
    """Versioned JSON documents in a PostgreSQL table; compare-and-set by row lock.

    Args:
        pool_or_conninfo: an open ``psycopg_pool.AsyncConnectionPool`` (the caller keeps owning
            it) or a libpq connection string / URL, from which the store makes a pool of up to
            ``max_size`` connections on first use and closes it in ``close()``.
        schema: the schema holding the table; created if missing.
        max_size: the pool size when the store makes its own pool.
    """

    def __init__(
        self,
        pool_or_conninfo: Pool | str,
        *,
        schema: str = DEFAULT_SCHEMA,
        max_size: int = 10,
    ) -> None:
        if not schema or len(schema.encode("utf-8")) > _MAX_IDENTIFIER_BYTES:
            raise ConfigurationError(
                f"PostgreSQL schema name {schema!r} must be 1 to {_MAX_IDENTIFIER_BYTES} bytes"
            )
        self.schema = schema
        self.max_size = max_size
        if isinstance(pool_or_conninfo, str):
            self._conninfo = pool_or_conninfo
            self._pool: Pool | None = None
        else:
            conninfo = pool_or_conninfo.conninfo
            # A pool may compute its conninfo on each connect; then error messages go without.
            self._conninfo = conninfo if isinstance(conninfo, str) else ""
            self._pool = pool_or_conninfo
        self._owns_pool = self._pool is None
        self._ready = False
        self._setup_lock = asyncio.Lock()
        table = sql.Identifier(schema, TABLE)
        self._create_schema = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
            sql.Identifier(schema)
        )
        self._create_table = sql.SQL(
            """CREATE TABLE IF NOT EXISTS {} (
                key TEXT COLLATE "C" PRIMARY KEY,
                version BIGINT NOT NULL CHECK (version >= 1),
                document TEXT NOT NULL
            )"""
        ).format(table)
        self._select = sql.SQL("SELECT version, document FROM {} WHERE key = %s").format(table)
        self._select_for_update = self._select + sql.SQL(" FOR UPDATE")
        self._update = sql.SQL("UPDATE {} SET version = %s, document = %s WHERE key = %s").format(
            table
        )
        self._insert = sql.SQL(
            "INSERT INTO {} (key, version, document) VALUES (%s, 1, %s) ON CONFLICT DO NOTHING"
        ).format(table)
        self._delete_statement = sql.SQL("DELETE FROM {} WHERE key = %s").format(table)
        self._keys_statement = sql.SQL(
            "SELECT key FROM {} WHERE key LIKE %s ESCAPE '\\' ORDER BY key"
        ).format(table)

    @classmethod
    def from_url(cls, url: str) -> PostgresStateStore:
        """Build from ``postgresql://user@host:port/db?schema=NAME`` (schema defaults to
        ``agentrig``); other query parameters go to libpq. Nothing connects until first use.
        """
        conninfo, schema = pop_url_option(url, "schema")
        return cls(conninfo, schema=schema or DEFAULT_SCHEMA)

    @property
    def location(self) -> str:
        """Where the documents lie, for error messages; no password."""
        try:
            params = conninfo_to_dict(self._conninfo)
        except psycopg.ProgrammingError:
            params = {}
        database = params.get("dbname", "?")
        host = params.get("host", "localhost")
        return f'table "{self.schema}".{TABLE} in database {database} on {host}'

    async def _connected_pool(self) -> Pool:
        if self._pool is not None and self._ready:
            return self._pool
        async with self._setup_lock:
            if self._pool is None:
                # One connection first, to create the table: an unreachable server then fails
                # at once with libpq's reason, where the pool would retry for 30 s and report
                # only "pool initialization incomplete".
                async with await self._connect_once() as connection:
                    await self._create_table_once(connection)
                self._ready = True
                pool: Pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self.max_size,
                    open=False,
                    kwargs={"autocommit": True, **self._connect_options()},
                )
                await pool.open(wait=True)
                self._pool = pool
            if not self._ready:
                async with self._pool.connection() as connection:
                    await self._create_table_once(connection)
                self._ready = True
        return self._pool

    def _connect_options(self) -> dict[str, Any]:
        try:
            given = conninfo_to_dict(self._conninfo)
        except psycopg.ProgrammingError:
            given = {}
        if "connect_timeout" in given:
            return {}
        return {"connect_timeout": DEFAULT_CONNECT_TIMEOUT_SECONDS}

    async def _connect_once(self) -> psycopg.AsyncConnection[TupleRow]:
        """Connect, or raise BackendUnavailableError naming the URL and libpq's reason."""
        try:
            return await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, **self._connect_options()
            )
        except psycopg.OperationalError as error:
            raise BackendUnavailableError(
                redact_url(self._conninfo), _failure_reason(error)
            ) from error

    async def _create_table_once(self, connection: psycopg.AsyncConnection[TupleRow]) -> None:
        async with connection.transaction():
            # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalogue; a
            # transaction-scoped advisory lock lets one creator run at a time.
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"agentrig_state:{self.schema}",)
            )
            await connection.execute(self._create_schema)
            await connection.execute(self._create_table)

    def _check_row(self, key: str, version: Any, document: Any) -> Versioned:
        if not isinstance(document, str):
            raise CorruptStateError(key, self.location, "the document is not text")
        return Versioned(decode_stored_document(key, self.location, document), int(version))

    def location_of(self, key: str) -> str:
        return self.location

    async def _load(self, key: str) -> Versioned | None:
        pool = await self._connected_pool()
        async with pool.connection() as connection:
            cursor = await connection.execute(self._select, (key,))
            row = await cursor.fetchone()
        return None if row is None else self._check_row(key, *row)

    async def _save_encoded(self, key: str, text: str, expected_version: int | None) -> int:
        pool = await self._connected_pool()
        async with pool.connection() as connection:
            while True:
                async with connection.transaction():
                    cursor = await connection.execute(self._select_for_update, (key,))
                    row = await cursor.fetchone()
                    # A corrupt row raises here, before anything is written: it is never replaced.
                    current = 0 if row is None else self._check_row(key, *row).version
                    if expected_version is not None and expected_version != current:
                        raise VersionConflict(key, expected_version, current)
                    if row is not None:
                        await connection.execute(self._update, (current + 1, text, key))
                        return current + 1
                    cursor = await connection.execute(self._insert, (key, text))
                    if cursor.rowcount == 1:
                        return 1
                # Another client created the key after our SELECT (no row to lock then).
                if expected_version == 0:
                    cursor = await connection.execute(self._select, (key,))
                    row = await cursor.fetchone()
                    raise VersionConflict(key, 0, 0 if row is None else int(row[0]))
                # An unconditional save simply goes again, now finding the row to lock.

    async def _delete(self, key: str) -> bool:
        pool = await self._connected_pool()
        async with pool.connection() as connection:
            cursor = await connection.execute(self._delete_statement, (key,))
            return cursor.rowcount > 0

    async def _keys(self, prefix: str) -> list[str]:
        pool = await self._connected_pool()
        async with pool.connection() as connection:
            cursor = await connection.execute(self._keys_statement, (_like_prefix(prefix),))
            return [key for (key,) in await cursor.fetchall()]

    async def close(self) -> None:
        if self._closed:
            return
        await super().close()  # refuse new calls before the pool goes
        if self._owns_pool and self._pool is not None:
            await self._pool.close()
