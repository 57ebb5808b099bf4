"""The plant's tools for Agent Framework: a ``FunctionTool`` per tool and the calls it cannot run.

Every call an agent makes reaches the plant's executor. :class:`PlantFunctionTool` is the
idiomatic path: Agent Framework validates the arguments with the tool's pydantic model, opens its
own ``execute_tool`` span and calls the function, which hands the call to the executor under the
model's tool-call id (the idempotency key). The calls Agent Framework would answer itself --
arguments that are not a JSON object or that its validation rejects, a tool the role does not
have -- never reach a function there; :func:`answer_unrunnable` gives them to the executor as the
plain baseline does, so the mistake is recorded and the model reads the same error text in every
framework. :class:`~agentrig.adapters.agent_framework.client.PlantChatClient` decides which path
a call takes.

A tool that finds the plant unusable (the executor raises) ends the role's run with
``MiddlewareFailure`` -- Agent Framework's public fail-closed signal, which its loop re-raises
instead of handing the model an error text -- and the adapter raises the original error.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from agentrig.core.contract.agent import BoundTool
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()  # before Agent Framework is imported: it reads its opt-outs then

try:
    from agent_framework import Content, FunctionTool, MiddlewareFailure
    from agent_framework._tools import _FunctionArgumentValidationError
except ImportError as error:
    raise MissingExtraError("the Agent Framework adapter", "agent-framework") from error

__all__ = [
    "PlantFunctionTool",
    "answer_unrunnable",
    "mcp_role_tools",
    "plant_tools",
    "role_tools_over_mcp",
    "runnable_by_framework",
]

_CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentrig_agent_framework_call_id", default=None
)
"""The tool-call id of the call the running ``PlantFunctionTool.invoke`` serves."""

_MCP_ROLE_TOOLS: contextvars.ContextVar[Mapping[str, BoundTool] | None] = contextvars.ContextVar(
    "agentrig_agent_framework_mcp_role_tools", default=None
)
"""The running role's in-process tools while its agent takes its tools over MCP: the calls
Agent Framework would answer itself go to their executor (:func:`role_tools_over_mcp`)."""


@contextlib.contextmanager
def role_tools_over_mcp(tools: Sequence[BoundTool]) -> Iterator[None]:
    """While an agent runs on MCP tools, the calls Agent Framework would answer itself (a tool
    the role lacks, arguments that are not JSON or that its checks refuse) reach ``tools``'
    executor in-process, as with native tools; the agent's client reads them from here."""
    token = _MCP_ROLE_TOOLS.set({tool.name: tool for tool in tools})
    try:
        yield
    finally:
        _MCP_ROLE_TOOLS.reset(token)


def mcp_role_tools() -> Mapping[str, BoundTool] | None:
    """The running role's in-process tools while its agent is on MCP tools, else None."""
    return _MCP_ROLE_TOOLS.get()


class PlantFunctionTool(FunctionTool):
    """A :class:`BoundTool` as an Agent Framework ``FunctionTool``; every call reaches the executor.

    Validation is the tool's own pydantic model (as the executor's); the model is shown the
    catalogue's strict schema, the one every adapter sends. An executor that raises (the plant is
    unusable) ends the run with ``MiddlewareFailure`` from that error.
    """

    def __init__(self, tool: BoundTool) -> None:
        super().__init__(
            name=tool.name,
            description=tool.description,
            func=self._call_plant,
            input_model=tool.args_model,
            approval_mode="never_require",
        )
        self.bound = tool
        self._openai_spec = tool.openai_tool(strict=True)

    def parameters(self) -> dict[str, Any]:
        """The catalogue's strict JSON schema (pydantic's own would differ between adapters)."""
        parameters: dict[str, Any] = self._openai_spec["function"]["parameters"]
        return parameters

    def to_json_schema_spec(self) -> dict[str, Any]:
        """The tool in the Chat Completions ``tools`` format, as the catalogue writes it."""
        return self._openai_spec

    async def invoke(self, *, tool_call_id: str | None = None, **options: Any) -> Any:
        # The function itself is only given the validated arguments; the call id travels in a
        # context variable so the executor can key the call by it.
        token = _CALL_ID.set(tool_call_id)
        try:
            return await super().invoke(tool_call_id=tool_call_id, **options)
        finally:
            _CALL_ID.reset(token)

    async def _call_plant(self, **arguments: Any) -> str:
        return await call_plant(self.bound, arguments, _CALL_ID.get())


async def call_plant(
    tool: BoundTool, arguments: Mapping[str, Any] | str, call_id: str | None
) -> str:
    """Run ``tool`` through the executor; an executor error becomes ``MiddlewareFailure``."""
    try:
        return await tool.acall(arguments, call_id=call_id)
    except Exception as error:
        # The executor answers every bad call itself; raising means the plant cannot be used.
        raise MiddlewareFailure(
            f"the plant tool {tool.name} failed: {type(error).__name__}: {error}"
        ) from error


def plant_tools(tools: Sequence[BoundTool]) -> list[PlantFunctionTool]:
    """One role's tools for its agent.

    Raises:
        AdapterError: the role has no tools (every role of the workflow has some).
    """
    if not tools:
        raise AdapterError(
            "an Agent Framework agent needs at least one plant tool; the role has none"
        )
    return [PlantFunctionTool(tool) for tool in tools]


def runnable_by_framework(call: Content, tools: Mapping[str, FunctionTool]) -> bool:
    """Whether Agent Framework would run ``call`` (rather than answer the model itself).

    It runs a call to one of the agent's tools whose arguments are a JSON object its checks
    accept: a :class:`PlantFunctionTool`'s pydantic model (the same check ``FunctionTool`` makes
    before calling the function), or for a tool from an MCP server Agent Framework's own
    lightweight check against the listed schema (``FunctionTool._prepare_arguments``: required
    and unexpected arguments, top-level types and enums; ranges and patterns are left to the
    server).
    """
    tool = tools.get(call.name or "")
    if tool is None:
        return False
    arguments = call.arguments
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments else {}
        except ValueError:
            return False
    if not isinstance(arguments, Mapping):
        return False
    if isinstance(tool, PlantFunctionTool):
        try:
            tool.bound.args_model.model_validate(dict(arguments))
        except ValidationError:
            return False
        return True
    try:
        tool._prepare_arguments(dict(arguments))
    except _FunctionArgumentValidationError:
        return False
    return True


async def answer_unrunnable(call: Content, tools: Mapping[str, BoundTool]) -> Content:
    """The executor's answer to a call Agent Framework would answer itself, as a function result.

    The arguments go to the executor as the model sent them (text that is not JSON included);
    a tool the role lacks is answered by the executor too (unknown tool, or not allowed for the
    role), under a key it derives, as in the plain baseline.
    """
    arguments: Any = call.arguments if call.arguments is not None else {}
    tool = tools.get(call.name or "")
    if tool is not None:
        text = await call_plant(tool, arguments, call.call_id)
    else:
        bound = next(iter(tools.values()))
        try:
            result = await bound.executor.call(call.name or "", arguments, role=bound.role)
        except Exception as error:
            raise MiddlewareFailure(
                f"the plant executor failed on {call.name!r}: {type(error).__name__}: {error}"
            ) from error
        text = result.to_text()
    # No ``exception``: the executor's text says what was wrong, as it does for a call Agent
    # Framework ran; an exception would count towards its consecutive-error limit, which then
    # stops offering tools -- a behaviour the other adapters do not have.
    return Content.from_function_result(call_id=call.call_id or "", id=call.id, result=text)
