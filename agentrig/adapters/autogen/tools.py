"""The plant's tools for AutoGen AgentChat: a ``BaseTool`` per tool and a workbench per role.

Every call an agent makes reaches the plant's executor through :class:`PlantTool` -- including the
ones AgentChat would answer itself (arguments that are not JSON, a tool the role does not have),
which :class:`PlantWorkbench` hands to the executor as the plain baseline does, so the mistake is
recorded and the model reads the same error text in every framework.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel

from agentrig.core.contract.agent import BoundTool
from agentrig.core.contract.optouts import disable_phone_home
from agentrig.core.plant.tools import ToolSpec
from agentrig.exceptions import AdapterError, MissingExtraError

disable_phone_home()  # before AutoGen is imported: it reads AUTOGEN_DISABLE_RUNTIME_TRACING then

try:
    from autogen_core import CancellationToken, FunctionCall
    from autogen_core.models import FunctionExecutionResult
    from autogen_core.tools import BaseTool, ParametersSchema, StaticStreamWorkbench, ToolSchema
except ImportError as error:
    raise MissingExtraError("the AutoGen adapter", "autogen") from error

__all__ = ["PlantTool", "PlantWorkbench", "RunGuard"]


class RunGuard:
    """One run's cancellation token, the agents' turns under way and the first error they hit.

    AgentChat turns an agent's exception into ``RuntimeError(str(error))`` and a tool's into text
    for the model; the guard keeps the original so the adapter raises it.
    """

    def __init__(self) -> None:
        self.token = CancellationToken()
        self.failure: BaseException | None = None
        self.agent_tasks: set[asyncio.Task[Any]] = set()
        """The runtime's tasks running an agent's turn right now."""

    def record(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def stop(self) -> None:
        """Stop the team's work: cancel the token and the agents' turns.

        The token cancels the model and tool calls linked to it; the turn itself must be cancelled
        too, because AgentChat 0.7.5 waits forever for the results of a cancelled tool call.
        """
        self.token.cancel()
        for task in self.agent_tasks:
            task.cancel()


@functools.cache
def _tool_schema(spec: ToolSpec) -> ToolSchema:
    # AgentChat reads every tool's schema on every model call and every tool call, and pydantic
    # builds it anew each time: ~3 ms per read for the operator's nine tools. Built once here.
    return ToolSchema(
        name=spec.name,
        description=spec.description,
        parameters=cast("ParametersSchema", spec.json_schema()),
        strict=True,
    )


class PlantTool(BaseTool[BaseModel, Any]):
    """A :class:`BoundTool` as an AgentChat tool: every call goes through the plant's executor.

    The arguments go to the executor as the model sent them (it validates them and records a bad
    call like any other), under AutoGen's tool-call id as the idempotency key. Calls sharing an
    ``order`` lock run one at a time in the order they were started: AgentChat starts the calls of
    one model response together, and an operator's "open the valve; restart the pump" must not be
    applied the other way round.
    """

    def __init__(
        self, tool: BoundTool, *, order: asyncio.Lock, guard: RunGuard | None = None
    ) -> None:
        # The result is the executor's JSON text, handed to the model as it is.
        super().__init__(tool.args_model, str, tool.name, tool.description)
        self.bound = tool
        self._order = order
        self._guard = guard

    @property
    def schema(self) -> ToolSchema:
        """The catalogue's strict JSON schema -- the one every adapter sends."""
        return _tool_schema(self.bound.spec)

    async def run_json(
        self,
        args: Mapping[str, Any] | str,
        cancellation_token: CancellationToken,
        call_id: str | None = None,
    ) -> str:
        # Not BaseTool.run_json: it validates with pydantic first (a bad call would never reach
        # the executor) and opens AutoGen's own execute_tool span beside the executor's.
        async with self._order:
            try:
                return await self.bound.acall(args, call_id=call_id)
            except Exception as error:  # the plant is unusable; AgentChat would only tell the model
                if self._guard is not None:
                    self._guard.record(error)
                raise

    async def run(self, args: BaseModel, cancellation_token: CancellationToken) -> str:
        return await self.run_json(args.model_dump(mode="json"), cancellation_token)

    def return_value_as_string(self, value: Any) -> str:
        return str(value)


class PlantWorkbench(StaticStreamWorkbench):
    """One role's :class:`PlantTool` set; also answers the calls AgentChat cannot run.

    Raises:
        AdapterError: the role has no tools (every role of the workflow has some).
    """

    def __init__(
        self,
        tools: Sequence[BoundTool],
        *,
        order: asyncio.Lock | None = None,
        guard: RunGuard | None = None,
    ) -> None:
        if not tools:
            raise AdapterError("an AutoGen agent needs at least one plant tool; the role has none")
        self.order = order or asyncio.Lock()
        self.guard = guard
        self.plant_tools = {
            tool.name: PlantTool(tool, order=self.order, guard=guard) for tool in tools
        }
        super().__init__(list(self.plant_tools.values()))

    async def answer_unrunnable(self, call: FunctionCall) -> FunctionExecutionResult | None:
        """The executor's answer to a call AgentChat cannot run, or None when it can run it.

        AgentChat answers arguments that are not JSON and tools the agent lacks on its own,
        without any tool; here they go to the executor, which records them and explains.
        """
        tool = self.plant_tools.get(call.name)
        try:
            json.loads(call.arguments)
        except ValueError:
            runnable = False
        else:
            runnable = tool is not None
        if runnable:
            return None
        if tool is not None:
            text = await tool.run_json(call.arguments, CancellationToken(), call_id=call.id)
        else:
            text = await self._call_unknown(call)
        return FunctionExecutionResult(
            content=text, name=call.name, call_id=call.id, is_error=not _ok(text)
        )

    async def _call_unknown(self, call: FunctionCall) -> str:
        # Not one of this role's tools: the executor still answers (unknown tool, or not allowed
        # for the role) under a key it derives, as in the plain baseline.
        bound = next(iter(self.plant_tools.values())).bound
        async with self.order:
            try:
                result = await bound.executor.call(call.name, call.arguments, role=bound.role)
            except Exception as error:
                if self.guard is not None:
                    self.guard.record(error)
                raise
        return result.to_text()


def _ok(text: str) -> bool:
    try:
        return bool(json.loads(text).get("ok", False))
    except (ValueError, AttributeError):
        return False
