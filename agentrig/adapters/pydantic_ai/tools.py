"""The plant's tools for Pydantic AI: one toolset per role, every call sent to the executor.

:class:`PlantToolset` is an ``AbstractToolset`` (Pydantic AI's public extension point for tools)
that offers a role's plant tools with the catalogue's strict JSON schema and hands each call's
arguments to the :class:`~agentrig.core.contract.agent.BoundTool` *as the model sent them*, with
the model's tool-call id as the idempotency key. Its argument validator accepts anything
(:class:`RawArguments`): the plant's executor validates, records a bad call in its ledger and
answers it with the same error text as in every other framework -- Pydantic AI would otherwise
answer arguments that are not JSON, or do not match the schema, itself, without any tool.

A tool name the role does not have is the other call Pydantic AI answers itself ("Unknown tool
name", a retry prompt). :class:`ExecutorFallback`, a capability, wraps the agent's toolset so an
unknown name resolves to a tool that asks the executor (which says why: unknown, or not the
role's). That relies on how Pydantic AI's ``ToolManager`` looks a name up (see ``patches.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentrig.core.contract.agent import BoundTool
from agentrig.exceptions import AdapterError, MissingExtraError

try:
    from pydantic_ai import RunContext
    from pydantic_ai.capabilities import AbstractCapability
    from pydantic_ai.tools import ToolDefinition
    from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset
except ImportError as error:  # pragma: no cover - exercised by the missing-extra test
    raise MissingExtraError("the Pydantic AI adapter", "pydantic-ai") from error

__all__ = ["ExecutorFallback", "PlantToolset", "RawArguments", "ToolsWithFallback"]

RAW_KEY = "arguments"
"""The one key of the validated arguments :class:`RawArguments` hands on: what the model sent."""


class RawArguments:
    """An argument validator that validates nothing: the executor does (Pydantic AI's
    ``SchemaValidatorProt``).

    Whatever the model sent -- a JSON object, arguments the schema rejects, text that is not JSON
    -- comes out as ``{"arguments": <as sent>}`` for :meth:`PlantToolset.call_tool`.
    """

    def validate_json(
        self,
        input: str | bytes | bytearray,
        *,
        allow_partial: bool | Literal["off", "on", "trailing-strings"] = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        text = input.decode() if isinstance(input, bytes | bytearray) else input
        return {RAW_KEY: text}

    def validate_python(
        self,
        input: Any,
        *,
        allow_partial: bool | Literal["off", "on", "trailing-strings"] = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return {RAW_KEY: input}


_RAW_ARGUMENTS = RawArguments()


class PlantToolset(AbstractToolset[Any]):
    """One role's plant tools as a Pydantic AI toolset.

    Raises:
        AdapterError: the role has no tools (every role of the workflow has some).
    """

    def __init__(self, tools: Sequence[BoundTool]) -> None:
        if not tools:
            raise AdapterError(
                "a Pydantic AI agent needs at least one plant tool; the role has none"
            )
        self.bound: Mapping[str, BoundTool] = {tool.name: tool for tool in tools}
        self._definitions = {
            tool.name: ToolDefinition(
                name=tool.name,
                description=tool.description,
                parameters_json_schema=tool.parameters(),
                strict=True,
            )
            for tool in tools
        }

    @property
    def id(self) -> str:
        return "agentrig-plant"

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        return {name: self.tool(definition) for name, definition in self._definitions.items()}

    def tool(self, definition: ToolDefinition) -> ToolsetTool[Any]:
        """``definition`` as a tool of this toolset, its arguments left to the executor."""
        # No retries are ever spent: a call is never refused here, the executor answers it.
        return ToolsetTool(
            toolset=self, tool_def=definition, max_retries=0, args_validator=_RAW_ARGUMENTS
        )

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> str:
        arguments = tool_args.get(RAW_KEY)
        bound = self.bound.get(name)
        if bound is not None:
            return await bound.acall(arguments, call_id=ctx.tool_call_id)
        # Not one of this role's tools: the executor still answers (unknown tool, or not allowed
        # for the role) under a key it derives, as in the plain baseline.
        any_tool = next(iter(self.bound.values()))
        result = await any_tool.executor.call(name, _as_sent(arguments), role=any_tool.role)
        return result.to_text()


def _as_sent(arguments: Any) -> dict[str, Any] | str:
    if isinstance(arguments, str) or arguments is None:
        return arguments or "{}"
    return dict(arguments) if isinstance(arguments, Mapping) else json.dumps(arguments)


class ToolsWithFallback(dict[str, ToolsetTool[Any]]):
    """The agent's tools by name; a name not among them resolves to the executor's fallback.

    Only ``get`` falls back -- the lookup Pydantic AI's ``ToolManager`` resolves a model's call
    with -- so the tools listed to the model (``values()``) are the role's own.
    """

    def __init__(self, tools: Mapping[str, ToolsetTool[Any]], plant: PlantToolset) -> None:
        super().__init__(tools)
        self._plant = plant

    def get(self, name: str, default: Any = None) -> Any:
        # Never ``default``: every name resolves, an unknown one to a tool asking the executor.
        found = super().get(name)
        if found is not None:
            return found
        definition = ToolDefinition(name=name, description="not a tool of this role")
        return _UnknownTool(
            toolset=self._plant, tool_def=definition, max_retries=0, args_validator=_RAW_ARGUMENTS
        )


@dataclass(kw_only=True)
class _UnknownTool(ToolsetTool[Any]):
    """A name the model called that the role's toolset does not have."""


@dataclass
class _FallbackToolset(WrapperToolset[Any]):
    plant: PlantToolset

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        return ToolsWithFallback(await self.wrapped.get_tools(ctx), self.plant)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        if isinstance(tool, _UnknownTool):
            return await self.plant.call_tool(name, tool_args, ctx, tool)
        return await self.wrapped.call_tool(name, tool_args, ctx, tool)


@dataclass
class ExecutorFallback(AbstractCapability[Any]):
    """Send calls to tools the role does not have to the plant's executor, not back to the model.

    Pydantic AI answers an unknown tool name itself with a retry prompt (and ends the run with
    ``UnexpectedModelBehavior`` once the retries are spent); the executor must see every call the
    model makes, record it and answer it, so the agent's toolset is wrapped to resolve any name.
    """

    plant: PlantToolset

    def get_wrapper_toolset(self, toolset: AbstractToolset[Any]) -> AbstractToolset[Any]:
        return _FallbackToolset(wrapped=toolset, plant=self.plant)
