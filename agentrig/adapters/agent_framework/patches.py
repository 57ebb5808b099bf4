"""The Agent Framework internals the adapter relies on, and the versions they were checked on.

The adapter changes nothing in Agent Framework process-wide: it overrides one private method on
its own subclass of the OpenAI Chat Completions client (``client.PlantChatClient``) and uses a
few private names of ``agent_framework._tools`` (its argument check, the loop's per-call function,
two constants and a class). :func:`apply` -- called
when an :class:`~agentrig.adapters.agent_framework.AgentFrameworkAdapter` is built, never on
import -- checks the installed versions against :data:`SUPPORTED`; :data:`INTERNALS` lists every
private attribute relied on, and ``tests/adapters/test_patches.py`` checks each still exists.
Each is also described in docs/adapters-agent-framework.md, as agentrig reports a framework's
real behaviour rather than hiding it.
"""

from __future__ import annotations

from agentrig.adapters._patching import Internal, PatchSet, VersionRange
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()  # before Agent Framework is imported: it reads its opt-outs then

try:
    from agent_framework import FunctionTool, _tools
    from agent_framework._tools import FunctionInvocationLayer
except ImportError as error:
    raise MissingExtraError("the Agent Framework adapter", "agent-framework") from error

__all__ = ["INTERNALS", "SUPPORTED", "applied", "apply"]

SUPPORTED: tuple[VersionRange, ...] = (
    # constraints.txt pins 1.23.0 (core) and 1.17.0 (its OpenAI client package).
    VersionRange("agent-framework-core", minimum="1.23", below="1.24", extra="agent-framework"),
    VersionRange("agent-framework-openai", minimum="1.17", below="1.18", extra="agent-framework"),
)
"""The versions the adapter's reliance on Agent Framework internals was checked on."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        FunctionInvocationLayer,
        "_get_response_with_function_invocation",
        "overridden",
        "PlantChatClient (client.py) wraps the executor of a reply's tool calls it is handed, so "
        "calls Agent Framework would answer itself without running any tool (a tool the role "
        "lacks: 'Requested function not found'; arguments that are not JSON or that its "
        "validation rejects) go to the plant's executor, which records them and answers the "
        "model with the same error text as in every framework",
    ),
    Internal(
        _tools,
        "_FunctionExecutionBatch",
        "used",
        "the result type of that executor: PlantChatClient builds one from the calls it ran",
    ),
    Internal(
        _tools,
        "_FUNCTION_INVOCATION_LIMIT_FALLBACK_TEXT",
        "used",
        "the text Agent Framework answers with when a role's last (tool-less) call still gave no "
        "text; the adapter answers no_final_answer() instead, as every adapter does",
    ),
    Internal(
        FunctionTool,
        "_prepare_arguments",
        "used",
        "over MCP, runnable_by_framework (tools.py) asks Agent Framework's own check of a call's "
        "arguments against the server's listed schema whether its loop would run the call",
    ),
    Internal(
        _tools,
        "_FunctionArgumentValidationError",
        "used",
        "what that check raises for arguments Agent Framework refuses",
    ),
    Internal(
        _tools,
        "_auto_invoke_function",
        "used",
        "agentrig.testing.mcp_probe_clients calls Agent Framework's per-call function of its "
        "loop, so the probe reports the text the model reads (not what the MCP tool raised)",
    ),
)
"""Every private Agent Framework attribute the adapter relies on (the tests check each exists)."""

_PATCHES = PatchSet(SUPPORTED)
apply = _PATCHES.apply
"""Check the installed versions against :data:`SUPPORTED`, once per process (nothing is wrapped)."""
applied = _PATCHES.applied
