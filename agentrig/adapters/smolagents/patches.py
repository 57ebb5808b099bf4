"""The smolagents internals the adapter relies on, and the versions they were checked against.

The smolagents adapter changes nothing in smolagents process-wide: its one change of framework
behaviour is an override on agentrig's own ``ToolCallingAgent`` subclass
(:class:`~agentrig.adapters.smolagents.agent.RoleAgent`). :func:`apply` -- called when a
:class:`~agentrig.adapters.smolagents.SmolagentsAdapter` is built, never on import -- checks the
installed version against :data:`SUPPORTED`; :data:`INTERNALS` lists every attribute relied on
that smolagents does not export or document as an extension point, and
``tests/adapters/test_patches.py`` checks each still exists. Each is also described in
docs/adapters-smolagents.md.
"""

from __future__ import annotations

from agentrig.adapters._patching import Internal, PatchSet, VersionRange
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before smolagents (and huggingface_hub) is imported
try:
    import smolagents.agents
    import smolagents.memory
    from smolagents import ToolCallingAgent
except ImportError as error:  # pragma: no cover - exercised in a venv without the extra
    raise MissingExtraError("the smolagents adapter", "smolagents") from error

__all__ = ["INTERNALS", "SUPPORTED", "applied", "apply"]

SUPPORTED: tuple[VersionRange, ...] = (
    VersionRange("smolagents", minimum="1.26", below="1.27", extra="smolagents"),
)
"""The smolagents versions whose internals below were checked (constraints.txt pins 1.26.0)."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        ToolCallingAgent,
        "process_tool_calls",
        "overridden",
        "RoleAgent runs a reply's tool calls in the model's order (smolagents: parallel threads, "
        "written back sorted by call id), sends unknown tools and arguments smolagents would "
        "reject to the plant's executor, which records them, and keys each call by the model's "
        "tool-call id (smolagents gives a tool only its arguments)",
    ),
    Internal(
        smolagents.agents,
        "ToolOutput",
        "used",
        "the record RoleAgent.process_tool_calls yields per call, as smolagents' own does "
        "(_step_stream reads is_final_answer and output from it); not exported by smolagents",
    ),
    Internal(
        smolagents.memory,
        "ToolCall",
        "used",
        "the memory record of one call that ActionStep.to_messages writes back to the model as "
        "'Calling tools: [...]'; not exported by smolagents",
    ),
)
"""Every smolagents attribute outside its public API the adapter relies on (the tests check each)."""

_PATCHES = PatchSet(SUPPORTED)
apply = _PATCHES.apply
"""Check the installed smolagents against :data:`SUPPORTED`, once per process (nothing is wrapped)."""
applied = _PATCHES.applied
