"""The StateStore protocol and its backends, chosen by URL with :func:`open_state_store`.

=============================  ============================================  ==================
URL                            backend                                       extra
=============================  ============================================  ==================
``memory://``                  :class:`MemoryStateStore` (in-process)         --
``file:///abs/dir``            one JSON file per key, atomic writes           --
``sqlite:///path/to/db``       SQLite in WAL mode (the embedded default)      --
``redis://host:port/db``       Redis; compare-and-set in a Lua script         ``redis``
``postgresql://user@host/db``  PostgreSQL via psycopg 3 (async)               ``postgres``
=============================  ============================================  ==================
"""

from __future__ import annotations

from agentrig.core.backends import open_backend
from agentrig.core.state.base import (
    MAX_KEY_BYTES,
    JsonObject,
    StateStore,
    StateStoreBase,
    Versioned,
    decode_document,
    encode_document,
    validate_key,
)
from agentrig.core.state.memory import MemoryStateStore

__all__ = [
    "DEFAULT_STATE_URL",
    "MAX_KEY_BYTES",
    "JsonObject",
    "MemoryStateStore",
    "StateStore",
    "StateStoreBase",
    "Versioned",
    "decode_document",
    "encode_document",
    "open_state_store",
    "validate_key",
]

DEFAULT_STATE_URL = "sqlite:///agentrig-state.db"
"""The embedded default: a SQLite file in the working directory."""

# scheme -> (module, class); imported on first use so that `import agentrig` needs no extras.
_BACKENDS: dict[str, tuple[str, str]] = {
    "memory": ("agentrig.core.state.memory", "MemoryStateStore"),
    "file": ("agentrig.core.state.file", "FileStateStore"),
    "sqlite": ("agentrig.core.state.sqlite", "SqliteStateStore"),
    "redis": ("agentrig.core.state.redis", "RedisStateStore"),
    "rediss": ("agentrig.core.state.redis", "RedisStateStore"),
    "postgresql": ("agentrig.core.state.postgres", "PostgresStateStore"),
    "postgres": ("agentrig.core.state.postgres", "PostgresStateStore"),
}


def open_state_store(url: str) -> StateStore:
    """Open the backend that ``url`` names. Backends connect lazily, on first use.

    Raises:
        ConfigurationError: the scheme is unknown or the URL is malformed.
        MissingExtraError: the backend's client library is not installed.
    """
    store: StateStore = open_backend(url, _BACKENDS, "state store")
    return store
