"""The Pydantic AI internals the adapter relies on, and the versions they were checked on.

The Pydantic AI adapter changes nothing in Pydantic AI: it uses public extension points (a
toolset, a capability's wrapper toolset, an argument validator per Pydantic AI's
``SchemaValidatorProt``). One of them works only because of how ``ToolManager`` looks a tool
name up: :class:`~agentrig.adapters.pydantic_ai.tools.ToolsWithFallback` answers ``get`` for
any name, and ``ToolManager`` keeps the outermost toolset's ``get_tools`` mapping as it is and
resolves a model's call with ``tools.get(name)``. :func:`apply` -- called when a
:class:`~agentrig.adapters.pydantic_ai.PydanticAIAdapter` is built, never on import -- checks
the installed version against :data:`SUPPORTED`; :data:`INTERNALS` lists what is relied on, and
``tests/adapters/test_patches.py`` checks each still exists (``tests/adapters/pydantic_ai``
checks the behaviour). Described in docs/adapters-pydantic-ai.md too.
"""

from __future__ import annotations

from agentrig.adapters._patching import Internal, PatchSet, VersionRange
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before Pydantic AI is imported (the adapter's first import of it is here)

try:
    from pydantic_ai.tool_manager import ToolManager
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the Pydantic AI adapter", "pydantic-ai") from error

__all__ = ["INTERNALS", "SUPPORTED", "applied", "apply"]

SUPPORTED: tuple[VersionRange, ...] = (
    # ToolManager's name lookup was read on 2.31; constraints.txt pins 2.31.1.
    VersionRange("pydantic-ai-slim", minimum="2.31", below="2.32", extra="pydantic-ai"),
)
"""The versions the adapter's reliance on Pydantic AI internals was checked on."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        ToolManager,
        "_resolve_tool",
        "used",
        "resolves a model's tool call with `self.tools.get(name)` on the outermost toolset's "
        "get_tools() mapping: ExecutorFallback (tools.py) makes that mapping answer every name, "
        "so a call to a tool the role lacks reaches the plant's executor instead of coming back "
        "as Pydantic AI's own retry prompt",
    ),
    Internal(
        ToolManager,
        "get_tool_def",
        "used",
        "classifies each call of a response by `self.tools.get(name)` (an unknown name would be "
        "kind 'unknown'); with the fallback every call is a function call, run in order",
    ),
)
"""Every private Pydantic AI behaviour the adapter relies on (the tests check each exists)."""

_PATCHES = PatchSet(SUPPORTED)
apply = _PATCHES.apply
"""Check the installed version against :data:`SUPPORTED`, once per process (nothing is wrapped)."""
applied = _PATCHES.applied
