"""The AutoGen AgentChat internals the adapter relies on, and the versions they were checked on.

The AutoGen adapter changes nothing in AgentChat process-wide: it overrides one private static
method on its own ``AssistantAgent`` subclass and calls one function of a private module.
:func:`apply` -- called when an :class:`~agentrig.adapters.autogen.AutoGenAdapter` is built,
never on import -- checks the installed versions against :data:`SUPPORTED`; :data:`INTERNALS`
lists every private attribute relied on, and ``tests/adapters/test_patches.py`` checks
each still exists. Each change is also described in docs/adapters-autogen.md, as agentrig
reports a framework's real behaviour rather than hiding it.
"""

from __future__ import annotations

from agentrig.adapters._patching import Internal, PatchSet, VersionRange
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before AutoGen is imported: it reads AUTOGEN_DISABLE_RUNTIME_TRACING then

try:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import _model_info
except ImportError as error:
    raise MissingExtraError("the AutoGen adapter", "autogen") from error

__all__ = ["INTERNALS", "SUPPORTED", "applied", "apply"]

SUPPORTED: tuple[VersionRange, ...] = (
    # constraints.txt pins 0.7.5 for both; RunGuard.stop() works around a 0.7.5 behaviour.
    VersionRange("autogen-agentchat", minimum="0.7.5", below="0.8", extra="autogen"),
    VersionRange("autogen-ext", minimum="0.7.5", below="0.8", extra="autogen"),
)
"""The versions the adapter's reliance on AgentChat internals was checked on."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        AssistantAgent,
        "_execute_tool_call",
        "overridden",
        "_RoleAgent (adapter.py) first hands calls AgentChat would answer itself (arguments "
        "that are not JSON, a tool the role lacks) to the plant's executor, so every call the "
        "model makes is recorded and answered with the same error text as in every framework",
    ),
    Internal(
        _model_info,
        "get_info",
        "used",
        "model_info_for() asks AutoGen what it knows of a model id before declaring an unknown "
        "one (the reference model, Ollama, vLLM) as plain function-calling",
    ),
)
"""Every private AgentChat attribute the adapter relies on (the tests check each exists)."""

_PATCHES = PatchSet(SUPPORTED)
apply = _PATCHES.apply
"""Check the installed versions against :data:`SUPPORTED`, once per process (nothing is wrapped)."""
applied = _PATCHES.applied
