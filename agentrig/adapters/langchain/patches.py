"""The LangChain internals the adapter relies on, and the versions they were checked against.

The LangChain adapter changes nothing in LangChain process-wide: its one change of a private
method is an override on agentrig's own ``StructuredTool`` subclass. :func:`apply` -- called when
a :class:`~agentrig.adapters.langchain.LangChainAdapter` is built, never on import -- checks the
installed versions against :data:`SUPPORTED`; :data:`INTERNALS` lists every private attribute
relied on, and ``tests/adapters/test_patches.py`` checks each still exists. Each
change is also described in docs/adapters-langchain.md, as agentrig reports a framework's real
behaviour rather than hiding it.
"""

from __future__ import annotations

from agentrig.adapters._patching import Internal, PatchSet, VersionRange
from agentrig.exceptions import MissingExtraError

try:
    from langchain_core.tools import StructuredTool
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the LangChain adapter", "langchain") from error

__all__ = ["INTERNALS", "SUPPORTED", "applied", "apply"]

SUPPORTED: tuple[VersionRange, ...] = (
    # StructuredTool._parse_input is langchain-core's; constraints.txt pins 1.7.2.
    VersionRange("langchain-core", minimum="1.7", below="1.8", extra="langchain"),
    # recursion_limit() counts LangGraph 1.2's supersteps; constraints.txt pins 1.2.22.
    VersionRange("langgraph", minimum="1.2", below="1.3", extra="langchain"),
)
"""The versions the adapter's reliance on LangChain and LangGraph internals was checked on."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        StructuredTool,
        "_parse_input",
        "overridden",
        "PlantTool (adapter.py) lets LangChain validate the arguments as usual, then hands its "
        "coroutine the arguments exactly as the model sent them -- not every field with "
        "defaults filled in -- so the executor records and hashes what the model really sent",
    ),
)
"""Every private LangChain attribute the adapter relies on (the tests check each exists)."""

_PATCHES = PatchSet(SUPPORTED)
apply = _PATCHES.apply
"""Check the installed versions against :data:`SUPPORTED`, once per process (nothing is wrapped)."""
applied = _PATCHES.applied
