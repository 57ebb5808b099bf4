"""The OpenAI Agents SDK internals the adapter relies on, and the versions they were checked on.

Three process-wide changes, made by :func:`apply` when an
:class:`~agentrig.adapters.openai_agents.OpenAIAgentsAdapter` is built (never on import), after
the installed versions are checked against :data:`SUPPORTED`:

- **Stray tool calls reach the executor.** The SDK raises ``ModelBehaviorError("Tool X not found
  in agent Y")`` and ends the run when the model calls a tool the agent does not have
  (``agents/run_internal/turn_resolution.py:1654`` in 0.13.6). agentrig's contract is that such a
  call reaches the plant's executor, which records it and tells the model why, as in every
  framework. ``turn_resolution.process_model_response`` is wrapped: for an agentrig
  :class:`~.tools.PlantAgent` only, each function call naming a tool it lacks gets a one-off
  tool (:meth:`~.tools.PlantAgent.stray_tool`) appended to the tools it is resolved against;
  the SDK then runs it like any other. Other agents are untouched.
- **Token details the installed ``openai`` accepts.** openai-agents 0.13.6 allows
  ``openai>=2.26,<3`` but builds ``InputTokensDetails(cached_tokens=0)`` for every run's usage
  (``agents/usage.py:112``, also :85, :87, :148, :192, :201); openai 2.54.0 (pinned here) made
  ``cache_write_tokens`` a required field of that model (``openai/types/responses/
  response_usage.py:11``), so ``Runner.run`` fails before its first model call with a
  ``ValidationError``. No setting avoids it. Where the installed ``openai`` requires the field,
  ``agents.usage.InputTokensDetails`` -- the name those lines look up when they run -- is
  rebound to a subclass whose ``cache_write_tokens`` defaults to 0 (the Chat Completions API
  reports no cache writes for these calls). The ``openai`` class itself is not changed.
- **No traces exported to OpenAI.** The SDK's default trace processor batches every trace and
  span to ``https://api.openai.com/v1/traces/ingest`` (``agents/tracing/processors.py:33``)
  with ``OPENAI_API_KEY``. Its only off switch, ``OPENAI_AGENTS_DISABLE_TRACING``, stops the
  SDK's tracing altogether -- and with it the OpenInference processor that turns the SDK's
  spans into OpenTelemetry. So the default processor alone is taken out of the SDK's list
  (:func:`drop_openai_trace_export`); OpenInference's ``instrument()`` replaces the list with its
  own processor anyway, this covers a run without it. The SDK can replace its processors but
  not list them: the list is read from the trace provider's private attributes, as
  OpenInference itself does.

:data:`INTERNALS` lists every private attribute relied on; ``tests/adapters/test_patches.py``
checks each still exists. docs/adapters-openai-agents.md describes both.
"""

from __future__ import annotations

import functools
from typing import Any

from agentrig.adapters._patching import Internal, PatchSet, VersionRange
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import MissingExtraError

disable_phone_home()

try:
    from agents import FunctionTool, set_trace_processors
    from agents import usage as agents_usage
    from agents.run_internal import turn_resolution
    from agents.tracing import get_trace_provider
    from agents.tracing.processors import default_processor
    from agents.tracing.provider import DefaultTraceProvider, SynchronousMultiTracingProcessor
    from openai.types.responses import ResponseFunctionToolCall
    from openai.types.responses.response_usage import InputTokensDetails
except ImportError as error:
    raise MissingExtraError("the OpenAI Agents adapter", "openai-agents") from error

__all__ = [
    "INTERNALS",
    "SUPPORTED",
    "applied",
    "apply",
    "cache_write_tokens_required",
    "drop_openai_trace_export",
]

SUPPORTED: tuple[VersionRange, ...] = (
    VersionRange("openai-agents", minimum="0.13.6", below="0.14", extra="openai-agents"),
)
"""The versions the adapter's reliance on SDK internals was checked on."""

INTERNALS: tuple[Internal, ...] = (
    Internal(
        turn_resolution,
        "process_model_response",
        "wrapped",
        "a PlantAgent's calls to tools it lacks get a tool handing them to the plant's executor "
        "(which records them) instead of the SDK's ModelBehaviorError ending the run",
    ),
    Internal(
        agents_usage,
        "InputTokensDetails",
        "wrapped",
        "rebound to a subclass defaulting cache_write_tokens to 0 while the installed openai "
        "requires that field, which agents.usage never passes: every Runner.run failed",
    ),
    # Instance attributes, set in __init__: the owners are fresh instances (never registered).
    Internal(
        DefaultTraceProvider(),
        "_multi_processor",
        "used",
        "drop_openai_trace_export() reads the registered trace processors (no public getter) "
        "to take out the SDK's default exporter to api.openai.com and keep the others",
    ),
    Internal(
        SynchronousMultiTracingProcessor(),  # type: ignore[no-untyped-call]
        "_processors",
        "used",
        "the processor list inside _multi_processor, read by drop_openai_trace_export()",
    ),
)
"""Every private SDK attribute the adapter relies on (the tests check each exists)."""


def drop_openai_trace_export() -> bool:
    """Take the SDK's default trace processor (export to OpenAI) out; keep every other one.

    Returns True when it was registered and is now gone.
    """
    provider = get_trace_provider()
    multi = getattr(provider, "_multi_processor", None)
    registered = list(getattr(multi, "_processors", ()))
    exporter = default_processor()
    kept = [processor for processor in registered if processor is not exporter]
    if len(kept) == len(registered):
        return False
    set_trace_processors(kept)
    return True


class _InputTokensDetails(InputTokensDetails):
    """``InputTokensDetails`` as openai-agents 0.13.6 builds it: without cache writes."""

    cache_write_tokens: int = 0


def cache_write_tokens_required() -> bool:
    """Whether the installed ``openai`` requires ``InputTokensDetails.cache_write_tokens``."""
    field = InputTokensDetails.model_fields.get("cache_write_tokens")
    return field is not None and field.is_required()


def _resolve_stray_calls(original: Any) -> Any:
    @functools.wraps(original)
    def process_model_response(*, agent: Any, all_tools: list[Any], **options: Any) -> Any:
        stray_tool = getattr(agent, "stray_tool", None)
        if callable(stray_tool):
            known = {tool.name for tool in all_tools if isinstance(tool, FunctionTool)}
            known.update(handoff.tool_name for handoff in options.get("handoffs") or ())
            for output in options["response"].output:
                if isinstance(output, ResponseFunctionToolCall) and output.name not in known:
                    known.add(output.name)
                    all_tools = [*all_tools, stray_tool(output.name)]
        return original(agent=agent, all_tools=all_tools, **options)

    process_model_response._agentrig_resolves_stray_calls = True  # type: ignore[attr-defined]
    return process_model_response


def _install() -> None:
    current = turn_resolution.process_model_response
    if not getattr(current, "_agentrig_resolves_stray_calls", False):
        turn_resolution.process_model_response = _resolve_stray_calls(current)
    if cache_write_tokens_required():
        setattr(agents_usage, "InputTokensDetails", _InputTokensDetails)  # noqa: B010 (not re-exported)
    drop_openai_trace_export()


_PATCHES = PatchSet(SUPPORTED, _install)
apply = _PATCHES.apply
"""Check the installed versions against :data:`SUPPORTED`, then make the changes; once."""
applied = _PATCHES.applied
