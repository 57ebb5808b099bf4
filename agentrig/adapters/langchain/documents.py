"""The documents the LangGraph checkpointer keeps in the StateStore: keys, serialised values, index.

Split from :mod:`.checkpoint` (the saver itself); the layout is described there. Everything here
refuses content it did not write with :class:`~agentrig.exceptions.CorruptStateError`, and leaves
it in place.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import unquote

from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.state.base import JsonObject
from agentrig.exceptions import CorruptStateError, MissingExtraError, NotSerializableError

disable_phone_home()

try:
    from langgraph.checkpoint.serde.base import SerializerProtocol
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangGraph checkpointer", "langchain") from error

__all__ = [
    "CHECKPOINT_FORMAT",
    "checked_index",
    "checkpoint_prefix",
    "decode_segment",
    "dump_value",
    "encode_segment",
    "load_value",
]

CHECKPOINT_FORMAT = "agentrig.langgraph/1"
"""The ``format`` field of every document this saver writes."""

# The serde types this saver stores and loads. "pickle" is deliberately absent.
_LOADABLE_TYPES = frozenset({"msgpack", "json", "null", "bytes", "bytearray"})
_ROOT_NAMESPACE = "~"
_ESCAPED = re.compile(r"[%/\\~\x00-\x1f\x7f]")


def checkpoint_prefix(run_id: str) -> str:
    """The key prefix of a run's LangGraph checkpoints: ``runs/{run_id}/langgraph``."""
    return f"runs/{encode_segment(run_id)}/langgraph"


def encode_segment(value: str) -> str:
    """Make ``value`` one valid, reversible key segment (see :mod:`.checkpoint`)."""
    if not value:
        return _ROOT_NAMESPACE
    encoded = _ESCAPED.sub(lambda match: f"%{ord(match.group()):02X}", value)
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    return encoded


def decode_segment(segment: str) -> str:
    """The value :func:`encode_segment` encoded."""
    return "" if segment == _ROOT_NAMESPACE else unquote(segment)


def checked_index(key: str, location: str, document: JsonObject) -> JsonObject:
    """``document`` if it is a thread index the saver wrote, else CorruptStateError.

    Read as an empty index, a foreign document would make a thread look new: its run would
    start over and the next checkpoint would overwrite what was stored there.
    """
    if document.get("format") != CHECKPOINT_FORMAT:
        found = document.get("format")
        raise CorruptStateError(
            key,
            location,
            f"not a LangGraph thread index (format {found!r}, expected "
            f"{CHECKPOINT_FORMAT!r}); it is left in place: restore it, or delete the thread "
            "(adelete_thread) to start it over",
        )
    namespaces = document.get("namespaces")
    if not isinstance(document.get("thread_id"), str) or not (
        isinstance(namespaces, dict)
        and all(
            isinstance(ids, list) and all(isinstance(i, str) for i in ids)
            for ids in namespaces.values()
        )
    ):
        raise CorruptStateError(
            key,
            location,
            "a LangGraph thread index needs a thread_id string and namespaces mapping each "
            "namespace to a list of checkpoint ids; it is left in place: restore it, or "
            "delete the thread (adelete_thread) to start it over",
        )
    return document


def dump_value(serde: SerializerProtocol, key: str, value: Any) -> JsonObject:
    """``value`` through ``serde`` as ``{type, data}`` (base64); pickle and the like refused."""
    kind, data = serde.dumps_typed(value)
    if kind not in _LOADABLE_TYPES:
        raise NotSerializableError(key, "$", f"{kind} serialisation (only JSON goes to the store)")
    return {"type": kind, "data": base64.b64encode(data).decode("ascii")}


def load_value(serde: SerializerProtocol, key: str, location: str, stored: Any) -> Any:
    """The value :func:`dump_value` stored; CorruptStateError for anything else (never pickle)."""
    if not isinstance(stored, dict) or not isinstance(stored.get("data"), str):
        raise CorruptStateError(key, location, "a serialised value is not {type, data}")
    kind = stored.get("type")
    if kind not in _LOADABLE_TYPES:
        raise CorruptStateError(
            key, location, f"serialisation type {kind!r} is not loaded (never pickle)"
        )
    try:
        data = base64.b64decode(stored["data"], validate=True)
    except ValueError as error:
        raise CorruptStateError(key, location, f"bad base64: {error}") from error
    return serde.loads_typed((kind, data))
